const { errorText } = require('../../utils/util.js');

const app = getApp();

Page({
  data: { loggingIn: false, error: '' },

  onLoad() {
    // A login kept in storage from an earlier launch is enough (also offline).
    if (app.client.user) wx.reLaunch({ url: '/pages/directories/directories' });
  },

  login() {
    this.setData({ loggingIn: true, error: '' });
    // wx.login() for a code, POST /api/login, the token kept in storage, the socket (re)opened.
    return app.client
      .login()
      .then(() => {
        app.loggedInOnce = true;
        wx.reLaunch({ url: '/pages/directories/directories' });
      })
      .catch((error) => this.setData({ loggingIn: false, error: errorText(error) }));
  },
});
