// Small helpers shared by the pages.

const ROLE_TEXT = { owner: '所有者', manager: '管理员', editor: '编辑', viewer: '只读' };

/** The text of a code scanned with the camera; null when the user cancelled. */
function scanCode() {
  return new Promise((resolve, reject) =>
    wx.scanCode({
      success: ({ result }) => resolve(result),
      fail: (error) => (/cancel/.test(error.errMsg) ? resolve(null) : reject(new Error(error.errMsg))),
    }),
  );
}

/** What to tell the user about a failed request (a ScancodeError of the SDK, or any error). */
function errorText(error) {
  switch (error.code) {
    case 'forbidden':
      return `${ROLE_TEXT[error.role] || error.role}不能这样做（需要${ROLE_TEXT[error.required] || error.required}）`;
    case 'not_an_invite':
      return '这不是仓库邀请码';
    case 'invite_not_found':
      return '邀请已失效或已用完';
    case 'count_closed':
      return '盘点已结束';
    case 'count_open':
      return '已有进行中的盘点';
    case 'directory_not_found':
      return '仓库不存在或你已不是成员';
    case 'offline':
    case 'network':
    case 'timeout':
      return '网络不可用，请稍后再试';
    default:
      return error.message || String(error);
  }
}

module.exports = { ROLE_TEXT, scanCode, errorText };
