import { Gauge } from 'prom-client';
import { startServer, type TestServer } from '../helpers/app';
import { testDatabases } from '../helpers/db';
import { request } from '../helpers/http';
import { createDirectory, signIn, type TestUser } from '../helpers/inventory';
import { closeAll, connect, type TestSocket } from '../helpers/ws';

/** One scrape, read as Prometheus would: each series' value by name and labels. */
class Scrape {
  private readonly series: { name: string; labels: Record<string, string>; value: number }[] = [];

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) continue;
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      this.series.push({ name: match[1], labels, value: Number(match[3]) });
    }
  }

  /** The sum of the series of this name whose labels include these; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
  }

  /** Same, 0 when absent (a labelled counter appears only once it has counted). */
  count(name: string, labels: Record<string, string> = {}): number {
    return this.value(name, labels) ?? 0;
  }
}

async function scrape(server: TestServer): Promise<Scrape> {
  const answer = await request(server.url, 'GET', '/metrics');
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(answer.text);
}

/** Scrapes until `condition` holds (what the server counts after it answers, such as a close, lands a moment later). */
async function scrapeUntil(server: TestServer, condition: (scrape: Scrape) => boolean): Promise<Scrape> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const current = await scrape(server);
    if (condition(current) || Date.now() > deadline) return current;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.each(testDatabases())('GET /metrics on $name', (db) => {
  let server: TestServer;
  let alice: TestUser;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    server = await startServer(db);
    alice = await signIn(server, 'metrics');
  });
  afterEach(() => closeAll(sockets));
  afterAll(() => server.close());

  it("serves the process's metrics and this app's in Prometheus' text format, outside the OpenAPI document", async () => {
    const metrics = await scrape(server);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(metrics.value(name)).toEqual(expect.any(Number));
    }
    expect(metrics.value('scancode_ws_open_sockets')).toBe(0);
    expect(metrics.value('scancode_mutation_retries_total')).toBe(0);
    expect(metrics.value('scancode_bus_publish_failures_total')).toBe(0);
    expect(metrics.value('scancode_db_pool_connections', { state: 'max' })).toBeGreaterThanOrEqual(1);
    expect(metrics.value('scancode_db_pool_connections', { state: 'used' })).toBeGreaterThanOrEqual(0);
    expect(metrics.value('scancode_db_pool_pending_acquires')).toBe(0);
    const document = await request(server.url, 'GET', '/openapi.json');
    expect(Object.keys(document.body.paths)).not.toContain('/metrics');
  });

  it('open sockets go up with a client and down when it leaves; frames are counted both ways by type', async () => {
    const before = await scrape(server);
    const socket = await connect(server.url, alice.token, 'frame');
    sockets.push(socket);
    await socket.request({ type: 'ping' });
    const during = await scrape(server);
    expect(during.value('scancode_ws_open_sockets')).toBe(1);
    expect(during.count('scancode_ws_frames_received_total', { type: 'auth' }) - before.count('scancode_ws_frames_received_total', { type: 'auth' })).toBe(1);
    expect(during.count('scancode_ws_frames_received_total', { type: 'ping' }) - before.count('scancode_ws_frames_received_total', { type: 'ping' })).toBe(1);
    expect(during.count('scancode_ws_frames_sent_total', { type: 'hello' }) - before.count('scancode_ws_frames_sent_total', { type: 'hello' })).toBe(1);
    expect(during.count('scancode_ws_frames_sent_total', { type: 'ack' }) - before.count('scancode_ws_frames_sent_total', { type: 'ack' })).toBe(1);

    socket.send('not json');
    await socket.next('error');
    await closeAll(sockets);
    const after = await scrapeUntil(server, (s) => s.value('scancode_ws_open_sockets') === 0);
    expect(after.value('scancode_ws_open_sockets')).toBe(0);
    expect(after.count('scancode_ws_frames_received_total', { type: 'invalid' }) - before.count('scancode_ws_frames_received_total', { type: 'invalid' })).toBe(1);
    expect(after.count('scancode_ws_closed_total', { code: '1000' }) - before.count('scancode_ws_closed_total', { code: '1000' })).toBe(1);
  });

  it('a scan applied, a scan refused and a scan sent again each move their own counter; each ack is timed', async () => {
    const directoryId = await createDirectory(alice.api, '计量');
    const socket = await connect(server.url, alice.token);
    sockets.push(socket);
    const before = await scrape(server);
    const scans = (outcome: string, code?: string) => ({ kind: 'scan', outcome, ...(code ? { code } : {}) });

    expect((await socket.request({ type: 'scan', id: 'm:1', directoryId, op: 'in', code: 'M-1', qty: 2 })).ok).toBe(true);
    expect((await socket.request({ type: 'scan', id: 'm:2', directoryId, op: 'out', code: 'M-1', qty: 5 })).error.code).toBe('insufficient_stock');
    expect((await socket.request({ type: 'scan', id: 'm:1', directoryId, op: 'in', code: 'M-1', qty: 2 })).result.duplicate).toBe(true);

    // The change's delivery to this instance's watchers is timed once the bus hands it over.
    const lagBefore = before.count('scancode_bus_delivery_lag_seconds_count');
    const after = await scrapeUntil(server, (s) => s.count('scancode_bus_delivery_lag_seconds_count') > lagBefore);
    const moved = (name: string, labels: Record<string, string> = {}) => after.count(name, labels) - before.count(name, labels);
    expect(moved('scancode_mutations_total', scans('applied'))).toBe(1);
    expect(moved('scancode_mutations_total', scans('refused', 'insufficient_stock'))).toBe(1);
    expect(moved('scancode_mutations_total', scans('duplicate'))).toBe(1);
    expect(moved('scancode_ws_ack_duration_seconds_count', { type: 'scan' })).toBe(3);
    expect(moved('scancode_ws_ack_duration_seconds_bucket', { type: 'scan', le: '+Inf' })).toBe(3);
    expect(moved('scancode_bus_delivery_lag_seconds_count')).toBe(1);
  });

  it('a sync of five scans into one directory is one batch of five (group commit)', async () => {
    const directoryId = await createDirectory(alice.api, '批量');
    const before = await scrape(server);
    const events = Array.from({ length: 5 }, (_, i) => ({ eventId: `batch:${i}`, directoryId, op: 'in', code: `B-${i}` }));
    const answer = await alice.api.post('/api/sync', { body: { events } });
    expect(answer.status).toBe(200);
    const after = await scrape(server);
    expect(after.count('scancode_mutation_batch_size_count') - before.count('scancode_mutation_batch_size_count')).toBe(1);
    expect(after.count('scancode_mutation_batch_size_sum') - before.count('scancode_mutation_batch_size_sum')).toBe(5);
    expect(after.count('scancode_mutations_total', { kind: 'scan', outcome: 'applied' }) - before.count('scancode_mutations_total', { kind: 'scan', outcome: 'applied' })).toBe(5);
  });

  it("answers in the API's error shape when a metric cannot be collected", async () => {
    new Gauge({
      name: 'scancode_test_broken',
      help: 'fails to collect',
      registers: [server.app.metrics],
      collect() {
        throw new Error('collector failed');
      },
    });
    try {
      const answer = await request(server.url, 'GET', '/metrics');
      expect(answer.status).toBe(500);
      expect(answer.body).toEqual({ error: { code: 'internal', message: 'internal error' } });
    } finally {
      server.app.metrics.removeSingleMetric('scancode_test_broken');
    }
    expect((await request(server.url, 'GET', '/metrics')).status).toBe(200);
  });
});
