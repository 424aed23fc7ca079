const { ROLE_TEXT, scanCode, errorText } = require('../../utils/util.js');

const app = getApp();

Page({
  data: { joined: null, error: '' },

  /** Scans an invite's QR code (`scancode:join:<code>`) and joins its directory with the invite's role. */
  scan() {
    this.setData({ error: '' });
    return scanCode()
      .then((text) => text !== null && app.client.acceptInvite(text))
      .then((answer) => {
        if (!answer) return;
        const { directory, role } = answer;
        this.setData({ joined: { id: directory.id, name: directory.name, role, roleText: ROLE_TEXT[role], owner: directory.owner.nickname } });
        wx.showToast({ title: `已加入 ${directory.name}` });
        wx.redirectTo({ url: `/pages/directory/directory?id=${directory.id}` });
      })
      .catch((error) => this.setData({ error: errorText(error) }));
  },
});
