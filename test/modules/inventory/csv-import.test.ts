import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { allLogs, countOf, createDirectory, directoryState, download, revisionOf, scan, signIn } from '../../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const HEADER = 'code,name,remarks,count\r\n';

/** POST /api/directories/:id/import with the file's bytes as text/csv. */
async function importFile(server: TestServer, token: string, directoryId: number, file: string | Buffer): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}/api/directories/${directoryId}/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv; charset=utf-8' },
    body: typeof file === 'string' ? file : new Uint8Array(file),
  });
  return { status: response.status, body: await response.json() };
}

describe.each(testDatabases())('POST /api/directories/:id/import on $name', (db) => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  beforeAll(async () => (server = await startServer(db)));
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  it('re-imports its own export (BOM, quoting, formula guards) as all unchanged, spending no revision', async () => {
    const { api, token } = await signIn(server, 'import-roundtrip');
    const id = await createDirectory(api, '往返');
    const goods: [string, string, string, number][] = [
      ['6901', '可口可乐', '冰镇', 3],
      ['c1', 'a,b', 'say "hi"', 1],
      ['c2', '第一行\n第二行', 'cr\r\nlf', 0],
      ['=1+1', '=SUM(A1:A9)', '@cmd', 7],
      ['c4', '+86 138', '-2+3', 2],
      ['-5', '+12', '-3.5', 4],
    ];
    for (const [code, name, remarks, qty] of goods) expect((await scan(api, id, { op: 'set', code, name, remarks, qty })).status).toBe(200);
    const exported = (await download(server, token, `/api/directories/${id}/export.csv`)).bytes;
    expect(exported.subarray(0, 3)).toEqual(BOM);
    const revision = await revisionOf(api, id);

    expect(await importFile(server, token, id, exported)).toEqual({ status: 200, body: { created: 0, updated: 0, unchanged: goods.length, errors: [] } });
    // The same without the BOM.
    expect((await importFile(server, token, id, exported.subarray(3))).body).toEqual({ created: 0, updated: 0, unchanged: goods.length, errors: [] });
    expect(await revisionOf(api, id)).toBe(revision);
  });

  it('creates and updates goods as set changes, keeps a stored name or remarks for an empty one, and reads quoted fields', async () => {
    const { api, token } = await signIn(server, 'import-apply');
    const id = await createDirectory(api, '导入');
    await scan(api, id, { op: 'in', code: 'OLD', name: '旧名', remarks: '旧备注', qty: 5 });
    const file = `${HEADER}OLD,,,9\r\nNEW,"新, ""商品""","两行\n备注",3\nSAME,,,0\r\n`;
    expect((await importFile(server, token, id, file)).body).toEqual({ created: 2, updated: 1, unchanged: 0, errors: [] });
    const { goods } = await directoryState(api, id);
    const byCode = Object.fromEntries(goods.map((g: { code: string }) => [g.code, g]));
    expect(byCode.OLD).toMatchObject({ name: '旧名', remarks: '旧备注', count: 9 });
    expect(byCode.NEW).toMatchObject({ name: '新, "商品"', remarks: '两行\n备注', count: 3 });
    expect(byCode.SAME).toMatchObject({ name: '', count: 0 });
    // One logged set change each, one revision each.
    const logs = (await allLogs(api, id)).filter((entry) => entry.type === 'set');
    expect(logs.map((entry) => entry.code).sort()).toEqual(['NEW', 'OLD', 'SAME']);
  });

  it('applies the good lines and reports the bad ones with their line in the file', async () => {
    const { api, token } = await signIn(server, 'import-errors');
    const id = await createDirectory(api, '错误');
    const file = [
      'code,name,remarks,count', // 1
      'A,甲,,1', // 2
      ',无码,,1', // 3
      'B,"两', // 4: a quoted field over two lines
      '行",,x', // 5
      'C,丙,,-1', // 6
      'D,丁,,2,extra', // 7
      '', // 8: blank, skipped
      'E,"戊"x,,1', // 9
      'F,己,,4', // 10
      '',
    ].join('\n');
    const answer = await importFile(server, token, id, file);
    expect(answer.body.created).toBe(2);
    expect(answer.body.errors.map((e: { line: number }) => e.line)).toEqual([3, 4, 6, 7, 9]);
    expect(answer.body.errors[0].message).toMatch(/code/);
    expect(answer.body.errors[1].message).toMatch(/count/);
    expect(await countOf(api, id, 'A')).toBe(1);
    expect(await countOf(api, id, 'F')).toBe(4);
    expect(await countOf(api, id, 'B')).toBeNull();
  });

  it('refuses a file without the header, and an unclosed quote is an error of its line', async () => {
    const { api, token } = await signIn(server, 'import-header');
    const id = await createDirectory(api, '表头');
    expect((await importFile(server, token, id, 'A,1\n')).body.error.code).toBe('bad_request');
    expect((await importFile(server, token, id, '')).body.error.code).toBe('bad_request');
    expect((await importFile(server, token, id, `${HEADER}A,,,1\r\nB,"open,,2\r\n`)).body).toEqual({
      created: 1,
      updated: 0,
      unchanged: 0,
      errors: [{ line: 3, message: expect.stringMatching(/not closed/) }],
    });
  });

  it('takes a file over the JSON body limit, and refuses one over 5 MB with payload_too_large', async () => {
    const { api, token } = await signIn(server, 'import-size');
    const id = await createDirectory(api, '大文件');
    const line = (i: number) => `SKU-${String(i).padStart(6, '0')},${'名'.repeat(40)},,${i}\r\n`;
    const lines = Array.from({ length: 12_000 }, (_, i) => line(i)).join('');
    expect(Buffer.byteLength(lines)).toBeGreaterThan(1024 * 1024);
    expect((await importFile(server, token, id, HEADER + lines)).body).toMatchObject({ created: 12_000, errors: [] });
    expect(await importFile(server, token, id, `${HEADER}${'x'.repeat(5 * 1024 * 1024)}`)).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
  });

  it('has no second effect when the same file is sent again, even after the goods changed', async () => {
    const { api, token } = await signIn(server, 'import-twice');
    const id = await createDirectory(api, '两次');
    const file = `${HEADER}X,叉,,10\r\n`;
    const [first, second] = await Promise.all([importFile(server, token, id, file), importFile(server, token, id, file)]);
    expect(first.body.created + second.body.created).toBe(1);
    expect(first.body.unchanged + second.body.unchanged).toBe(1);
    await scan(api, id, { op: 'out', code: 'X', qty: 4 });
    const revision = await revisionOf(api, id);
    expect((await importFile(server, token, id, file)).body).toEqual({ created: 0, updated: 0, unchanged: 1, errors: [] });
    expect(await countOf(api, id, 'X')).toBe(6);
    expect(await revisionOf(api, id)).toBe(revision);
  });

  it('shows the set changes live to a watcher, with the importer named', async () => {
    const { api, token, userId } = await signIn(server, 'import-live');
    const id = await createDirectory(api, '实时');
    const watcher = await connect(server.url, token);
    sockets.push(watcher);
    await watcher.request({ type: 'subscribe', directoryId: id });
    expect((await importFile(server, token, id, `${HEADER}L1,一,,1\r\nL2,二,,2\r\n`)).body.created).toBe(2);
    const frames = await watcher.changesUpTo(id, 2);
    expect(frames.map((f) => f.change)).toEqual([
      expect.objectContaining({ type: 'set', code: 'L1', goods: expect.objectContaining({ count: 1, name: '一' }), revision: 1, userId }),
      expect.objectContaining({ type: 'set', code: 'L2', goods: expect.objectContaining({ count: 2 }), revision: 2, userId }),
    ]);
  });

  it('is refused to a viewer (forbidden) and a stranger (directory_not_found), applying nothing', async () => {
    const owner = await signIn(server, 'import-owner');
    const id = await createDirectory(owner.api, '只读');
    const invite = await owner.api.post(`/api/directories/${id}/invites`, { body: { role: 'viewer' } });
    const viewer = await signIn(server, 'import-viewer');
    expect((await viewer.api.post(`/api/invites/${invite.body.invite.code}/accept`)).status).toBe(200);
    const stranger = await signIn(server, 'import-stranger');
    const file = `${HEADER}V,,,1\r\n`;
    expect(await importFile(server, viewer.token, id, file)).toMatchObject({ status: 403, body: { error: { code: 'forbidden', role: 'viewer', required: 'editor' } } });
    expect(await importFile(server, stranger.token, id, file)).toMatchObject({ status: 404, body: { error: { code: 'directory_not_found' } } });
    expect(await revisionOf(owner.api, id)).toBe(0);
    // JSON is not a CSV file.
    expect((await client(server.url, owner.token).post(`/api/directories/${id}/import`, { body: { csv: file } })).status).toBe(400);
  });
});
