const { ROLE_TEXT } = require('../../utils/util.js');

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
});
