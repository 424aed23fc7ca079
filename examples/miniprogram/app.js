// One client for the whole mini-program: one socket, whatever the pages watch (a mini-program may hold
// at most 5). The SDK is the one-file build, copied here by `npm run client:build`.
const { ScancodeClient, wxSocket, wxStorage, wxHttp, wxLoginCode } = require('./libs/scancode.js');
const { serverUrl } = require('./config.js');

App({
  onLaunch() {
    const client = new ScancodeClient({
      url: serverUrl,
      socket: wxSocket(wx),
      storage: wxStorage(wx),
      http: wxHttp(wx),
      loginCode: wxLoginCode(wx),
    });
    // A scan or a count line the server refused for good (out of stock, a viewer's scan, a directory
    // left, a count finished meanwhile...): say so. It may come long after it was made, even after a restart.
    client.on('answered', ({ entry, outcome }) => {
      if (!outcome.ok) wx.showToast({ title: `${entry.event.code}: ${outcome.error.message}`, icon: 'none' });
    });
    // No token, or the server refused it (logged out elsewhere, expired): back to the login page.
    client.on('loginRequired', () => {
      if (this.loggedInOnce) wx.reLaunch({ url: '/pages/login/login' });
    });
    this.client = client;
    this.loggedInOnce = client.user !== null;
    client.connect();
  },

  onShow() {
    // Back in the foreground: do not wait for the next retry.
    if (this.client) this.client.reconnectNow();
  },
});
