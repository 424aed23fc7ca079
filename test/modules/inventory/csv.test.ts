import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { createDirectory, download, scan, signIn } from '../../helpers/inventory';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const HEADER = 'code,name,remarks,count\r\n';

describe.each(testDatabases())('GET /api/directories/:id/export.csv on $name', (db) => {
  let server: TestServer;
  beforeAll(async () => (server = await startServer(db)));
  afterAll(() => server.close());

  /** The export's bytes, checked to start with the BOM, and its text after it. */
  async function exportOf(token: string, id: number): Promise<{ text: string; headers: Headers }> {
    const answer = await download(server, token, `/api/directories/${id}/export.csv`);
    expect(answer.status).toBe(200);
    expect(answer.bytes.subarray(0, 3)).toEqual(BOM);
    return { text: answer.bytes.subarray(3).toString('utf8'), headers: answer.headers };
  }

  it('is UTF-8 with a BOM, a header row, Chinese intact, and a download name', async () => {
    const { api, token } = await signIn(server, 'csv-basic');
    const id = await createDirectory(api, '出口 仓库');
    await scan(api, id, { op: 'in', code: '6901', name: '可口可乐', remarks: '冰镇', qty: 3 });
    await scan(api, id, { op: 'set', code: 'EMPTY', qty: 0 });
    const { text, headers } = await exportOf(token, id);
    expect(text).toBe(`${HEADER}6901,可口可乐,冰镇,3\r\nEMPTY,,,0\r\n`);
    expect(headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('出口 仓库.csv')}`);
  });

  it('has only the header for a directory without goods', async () => {
    const { api, token } = await signIn(server, 'csv-empty');
    expect((await exportOf(token, await createDirectory(api, '空'))).text).toBe(HEADER);
  });

  it("quotes commas, quotes and newlines, and prefixes formula-looking text with '", async () => {
    const { api, token } = await signIn(server, 'csv-quoting');
    const id = await createDirectory(api, '转义');
    const rows: [code: string, name: string, remarks: string, line: string][] = [
      ['c1', 'a,b', 'say "hi"', 'c1,"a,b","say ""hi"""'],
      ['c2', '第一行\n第二行', 'cr\r\nlf', 'c2,"第一行\n第二行","cr\r\nlf"'],
      ['=1+1', '=SUM(A1:A9)', '@cmd', "'=1+1,'=SUM(A1:A9),'@cmd"],
      ['c4', '+86 138', '-2+3', "c4,'+86 138,'-2+3"],
      ['c5', '=HYPERLINK("http://x","y")', '\tlead', `c5,"'=HYPERLINK(""http://x"",""y"")",'\tlead`],
      // Plain numbers stay numbers: a negative or signed amount is not a formula.
      ['-5', '+12', '-3.5', '-5,+12,-3.5'],
    ];
    for (const [code, name, remarks] of rows) expect((await scan(api, id, { op: 'in', code, name, remarks })).status).toBe(200);
    const { text } = await exportOf(token, id);
    expect(text).toBe(HEADER + rows.map(([, , , line]) => `${line},1\r\n`).join(''));
  });

  it('exports every row of a directory with more goods than one page, streamed', async () => {
    const { api, token } = await signIn(server, 'csv-many');
    const id = await createDirectory(api, '大仓');
    const total = 1001; // pages of 500: two full, one of 1
    for (let start = 0; start < total; start += 500) {
      const events = Array.from({ length: Math.min(500, total - start) }, (_, i) => ({
        eventId: `bulk-${start + i}`,
        directoryId: id,
        op: 'set',
        code: `SKU-${String(start + i).padStart(5, '0')}`,
        name: `商品${start + i}`,
        qty: start + i,
      }));
      const answer = await api.post('/api/sync', { body: { events } });
      expect(answer.body.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    }
    const { text, headers } = await exportOf(token, id);
    // Sent as it is read, not built first and measured.
    expect(headers.get('content-length')).toBeNull();
    const lines = text.split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines[0]).toBe('code,name,remarks,count');
    expect(lines.slice(1)).toEqual(Array.from({ length: total }, (_, i) => `SKU-${String(i).padStart(5, '0')},商品${i},,${i}`));
  });
});
