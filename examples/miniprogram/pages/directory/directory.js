const { ROLE_TEXT, scanCode, errorText } = require('../../utils/util.js');

const app = getApp();
const OP_TEXT = { in: '入库', out: '出库', set: '盘点', edit: '修改', remove: '删除' };

Page({
  data: { name: '', role: '', roleText: '', canScan: false, canInvite: false, status: 'offline', synced: false, lost: '', items: [], last: '', invite: null },

  onLoad({ id }) {
    const client = app.client;
    this.directoryId = Number(id);
    this.render = () => {
      const view = client.view(this.directoryId);
      const directory = client.directory(this.directoryId);
      const role = directory ? directory.role : '';
      this.setData({
        name: view.name || (directory ? directory.name : ''),
        role,
        roleText: ROLE_TEXT[role] || '',
        // What the role allows (the server checks it anyway: a viewer's scan is refused with `forbidden`).
        canScan: role === 'owner' || role === 'manager' || role === 'editor',
        canInvite: role === 'owner' || role === 'manager',
        synced: view.synced,
        lost: view.lost === 'removed' ? '你已被移出这个仓库' : view.lost ? '这个仓库已不存在' : '',
        // Each line: the server's count, and what this phone's scans not yet confirmed will make of it.
        items: view.items.map((item) => ({
          code: item.code,
          name: item.goods ? item.goods.name : '',
          count: item.count,
          expected: item.expected,
          pending: item.pending,
        })),
      });
    };
    this.stops = [
      client.on('change', ({ directoryId, change }) => {
        if (directoryId !== this.directoryId) return;
        // Who did what, live: every change carries the member's nickname and device.
        if (change && change.code !== undefined) this.setData({ last: `${change.nickname || '成员'} ${OP_TEXT[change.type] || change.type} ${change.code}` });
        this.render();
      }),
      client.on('directories', () => this.render()),
      client.on('status', (status) => this.setData({ status })),
      client.on('unsubscribed', ({ directoryId }) => directoryId === this.directoryId && this.render()),
    ];
    client.subscribe(this.directoryId);
    this.setData({ status: client.status });
    this.render();
  },

  onUnload() {
    this.stops.forEach((stop) => stop());
    app.client.unsubscribe(this.directoryId);
  },

  /** Scans with the camera: `data-op` is in, out or set. Queued in storage at once, sent when it can be. */
  scan(event) {
    const op = (event && event.currentTarget.dataset.op) || 'in';
    return scanCode().then((code) => {
      if (code === null) return null;
      // Refusals (out of stock, forbidden...) are told by app.js's `refused` listener.
      return app.client.scan({ directoryId: this.directoryId, op, code, qty: 1 }).then((outcome) => {
        if (outcome.ok && outcome.result.created) wx.showToast({ title: '新商品' });
        return outcome;
      });
    });
  },

  /** The directory's stocktake: join its open count, or start one. */
  count() {
    wx.navigateTo({ url: `/pages/count/count?directoryId=${this.directoryId}` });
  },

  /** An invite for an editor: show `qr` as a QR code for a colleague to scan in the join page. */
  invite() {
    return app.client
      .createInvite(this.directoryId, { role: 'editor', maxUses: 1 })
      .then((invite) => this.setData({ invite: { qr: invite.qr, role: ROLE_TEXT[invite.role], expiresAt: invite.expiresAt } }))
      .catch((error) => wx.showToast({ title: errorText(error), icon: 'none' }));
  },

  leave() {
    return app.client
      .leave(this.directoryId)
      .then(() => wx.navigateBack())
      .catch((error) => wx.showToast({ title: errorText(error), icon: 'none' }));
  },
});
