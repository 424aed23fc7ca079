const { scanCode, errorText } = require('../../utils/util.js');

const app = getApp();
const STATUS_TEXT = { loading: '读取中…', open: '盘点中', finished: '已完成', cancelled: '已取消' };

/**
 * A stocktake that several phones work on at once: the directory's open count is joined (or started),
 * each phone scans what it counts, and every phone sees every line live, with the live count beside it.
 */
Page({
  data: { directoryId: 0, countId: 0, name: '', status: '', statusText: '', canStart: false, canFinish: false, lines: [], synced: false, error: '' },

  onLoad({ directoryId }) {
    const client = app.client;
    this.directoryId = Number(directoryId);
    this.countId = 0;
    this.render = () => {
      const directory = client.directory(this.directoryId);
      const role = directory ? directory.role : '';
      const editor = role === 'owner' || role === 'manager' || role === 'editor';
      if (!this.countId) return this.setData({ directoryId: this.directoryId, canStart: editor });
      const view = client.countView(this.countId);
      const count = view.count;
      const user = client.user;
      this.setData({
        countId: this.countId,
        name: count ? count.name : '',
        status: view.status,
        statusText: STATUS_TEXT[view.status],
        synced: view.synced,
        canStart: false,
        // Managers finish any count, an editor the one they started (the server checks it anyway).
        canFinish: view.status === 'open' && (role === 'owner' || role === 'manager' || (editor && count !== null && user !== null && count.startedBy === user.id)),
        error: view.error ? errorText(view.error) : '',
        // counted: every phone's total; expected: the goods' live count; pending: this phone's lines not yet answered.
        lines: view.lines.map((line) => ({ code: line.code, name: line.name, counted: line.counted, expected: line.expected, variance: line.variance, pending: line.pending })),
      });
    };
    this.stops = [client.on('countChange', ({ countId }) => countId === this.countId && this.render()), client.on('directories', () => this.render())];
    this.render();
    // The directory's open count, if there is one, is joined at once.
    this.ready = client
      .listCounts(this.directoryId)
      .then((counts) => {
        const open = counts.find((count) => count.status === 'open');
        if (open) this.watch(open.id);
        else this.render();
      })
      .catch((error) => this.setData({ error: errorText(error) }));
  },

  onUnload() {
    this.stops.forEach((stop) => stop());
    if (this.countId) app.client.closeCountView(this.countId);
  },

  watch(countId) {
    this.countId = countId;
    app.client.countView(countId);
    this.render();
  },

  /** Starts a count (or joins the one a colleague started meanwhile). */
  start() {
    return app.client
      .startCount(this.directoryId)
      .then((count) => this.watch(count.id))
      .catch((error) => {
        if (error.code === 'count_open' && error.body && error.body.countId) return this.watch(error.body.countId);
        this.setData({ error: errorText(error) });
      });
  },

  /** Scans what is counted, one at a time: kept on the phone until the server has it, even offline. */
  scan() {
    if (!this.countId) return Promise.resolve(null);
    return scanCode().then((code) => {
      if (code === null) return null;
      // A refusal (the count was finished meanwhile...) is told by app.js's `answered` listener.
      return app.client.countLine(this.countId, code, 1);
    });
  },

  /** The counted totals become the counts (goods nobody counted keep theirs). */
  finish() {
    return app.client
      .finishCount(this.countId)
      .then((report) => {
        wx.showToast({ title: '盘点完成' });
        wx.navigateBack();
        return report;
      })
      .catch((error) => wx.showToast({ title: errorText(error), icon: 'none' }));
  },
});
