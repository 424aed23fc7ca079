const { webLoginId } = require('../../libs/scancode.js');
const { ROLE_TEXT, scanCode, errorText } = require('../../utils/util.js');

const app = getApp();

Page({
  data: { directories: [], status: 'offline' },

  onLoad() {
    const client = app.client;
    // client.directories is every directory the user is a member of, with their role and its owner,
    // kept current by the server's pushes (shared with the user, role changed, removed, renamed...).
    this.render = () =>
      this.setData({
        directories: client.directories.map((directory) => ({
          id: directory.id,
          name: directory.name,
          role: directory.role,
          roleText: ROLE_TEXT[directory.role],
          owner: directory.owner.nickname,
          mine: client.user !== null && directory.owner.id === client.user.id,
          goodsCount: directory.goodsCount,
        })),
      });
    this.stops = [client.on('directories', this.render), client.on('status', (status) => this.setData({ status }))];
    this.setData({ status: client.status });
    this.render();
  },

  onUnload() {
    this.stops.forEach((stop) => stop());
  },

  open(event) {
    wx.navigateTo({ url: `/pages/directory/directory?id=${event.currentTarget.dataset.id}` });
  },

  join() {
    wx.navigateTo({ url: '/pages/join/join' });
  },

  /** 扫一扫: the web dashboard's login QR code opens the page that logs the computer in; an invite joins its directory. */
  scan() {
    return scanCode()
      .then((text) => {
        if (text === null) return;
        const loginId = webLoginId(text);
        if (loginId !== null) return wx.navigateTo({ url: `/pages/weblogin/weblogin?id=${loginId}` });
        return app.client.acceptInvite(text).then(({ directory }) => wx.navigateTo({ url: `/pages/directory/directory?id=${directory.id}` }));
      })
      .catch((error) => wx.showToast({ title: errorText(error), icon: 'none' }));
  },
});
