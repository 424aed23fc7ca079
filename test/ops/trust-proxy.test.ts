import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../../src/config';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { CapturedLog } from '../helpers/logs';

/** What a client that wants to hide (or frame someone) sends. */
const FORGED = '203.0.113.9';

describe('TRUST_PROXY', () => {
  it('is off unless set; true, or a list of addresses, CIDR ranges and proxy-addr range names', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: ' 10.0.0.0/8, 192.168.1.7 ,fd00::/8,loopback' }).trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'loopback']);
  });

  it.each(['1', 'proxy.internal', '10.0.0.0/33', '10.0.0.1/8/2', ','])('refuses %j, naming the variable', (value) => {
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
  });
});

const [db] = testDatabases();

/** The server's peer is always this test, on 127.0.0.1: a trusted proxy or not, as configured. */
describe.each([
  { setting: undefined, seen: '127.0.0.1' },
  { setting: 'true', seen: FORGED },
  { setting: '127.0.0.0/8,::1', seen: FORGED },
  { setting: '10.0.0.0/8', seen: '127.0.0.1' },
])(`with TRUST_PROXY=$setting on ${db.name}`, ({ setting, seen }) => {
  const log = new CapturedLog();
  let server: TestServer;
  beforeAll(async () => {
    const env: Record<string, string> = { LOG_LEVEL: 'info', ...(setting === undefined ? {} : { TRUST_PROXY: setting }) };
    server = await startServer(db, { env, deps: { logStream: log.stream } });
  });
  afterAll(() => server.close());

  it(`an HTTP request from 127.0.0.1 forwarding for ${FORGED} is logged as coming from ${seen}`, async () => {
    await request(server.url, 'GET', '/healthz', { headers: { 'x-forwarded-for': FORGED, 'x-request-id': 'fwd-http' } });
    const [line] = await log.request('fwd-http');
    expect(line.req.remoteAddress).toBe(seen);
  });

  it(`so is a WebSocket: its authentication line says ${seen}`, async () => {
    const token = await server.login('proxied');
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': FORGED, 'x-request-id': 'fwd-ws' } });
    await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
    const authenticated = await log.next('websocket authenticated', (line) => line.reqId === 'fwd-ws');
    expect(authenticated.ip).toBe(seen);
    ws.close(1000);
    await log.next('websocket closed', (line) => line.reqId === 'fwd-ws');
  });
});
