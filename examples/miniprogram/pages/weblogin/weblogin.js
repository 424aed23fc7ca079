const { webLoginId } = require('../../libs/scancode.js');
const { scanCode, errorText } = require('../../utils/util.js');

const app = getApp();

/** What to tell the user when the approval fails: the page's QR code expires in 2 minutes and logs in once. */
function approvalError(error) {
  if (error.code === 'not_found') return '二维码已过期或已使用，请在电脑上刷新后重新扫码';
  if (error.code === 'not_a_web_login') return '这不是电脑登录二维码';
  return errorText(error);
}

Page({
  // asking: the confirm is shown; done: the computer is logged in.
  data: { asking: false, done: false, error: '' },

  /** Opened with `?id=` by a scan button that already read a dashboard's QR code: ask at once. */
  onLoad(options) {
    this.loginId = options.id ? webLoginId(`scancode:weblogin:${options.id}`) : null;
    if (this.loginId !== null) this.setData({ asking: true });
  },

  /** Scans the QR code the dashboard shows (`scancode:weblogin:<id>`) and asks whether to log it in. */
  scan() {
    this.setData({ error: '', done: false });
    return scanCode()
      .then((text) => {
        if (text === null) return;
        this.loginId = webLoginId(text);
        this.setData(this.loginId === null ? { asking: false, error: '这不是电脑登录二维码' } : { asking: true });
      })
      .catch((error) => this.setData({ error: errorText(error) }));
  },

  /** 登录: the computer gets a session of this user (its changes say `web`); this phone stays logged in. */
  approve() {
    const id = this.loginId;
    if (id === null) return Promise.resolve();
    this.loginId = null;
    return app.client
      .approveWebLogin(id)
      .then(() => {
        this.setData({ asking: false, done: true, error: '' });
        wx.showToast({ title: '已在电脑上登录' });
      })
      .catch((error) => this.setData({ asking: false, error: approvalError(error) }));
  },

  /** 取消: the computer is not logged in; its QR code expires by itself. */
  cancel() {
    this.loginId = null;
    this.setData({ asking: false });
    wx.navigateBack();
  },
});
