import type { ScanRequest } from '../../client/src';
import { check, unsettled } from './checks';
import { parseOptions, UsageError, type SimulateOptions } from './options';
import { Phone, type SimUser, type Tally } from './phone';
import { Progress, progressLine, summary } from './report';

/**
 * `npm run simulate`: dev users with several phones each, every phone an SDK client on the `ws` adapter,
 * scanning at a given rate while phones drop their sockets, go offline, lose their WebSocket (HTTP sync
 * instead) and get killed and restarted. Then everything settles and is checked against the server:
 * every view equals its counts, every scan was applied exactly once. Exits 1 on any disagreement.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
const between = (min: number, max: number) => min + Math.random() * (max - min);

async function createDirectory(baseUrl: string, token: string, name: string): Promise<number> {
  const response = await fetch(`${baseUrl}/api/directories`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  if (response.status !== 201) throw new Error(`creating a directory: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { directory: { id: number } }).directory.id;
}

/** Logs every user's phones in; each user gets a second directory, so one socket carries two subscriptions. */
async function setUp(options: SimulateOptions, tally: Tally): Promise<{ users: SimUser[]; phones: Phone[] }> {
  const run = Date.now().toString(36);
  const users: SimUser[] = [];
  const phones: Phone[] = [];
  for (let u = 1; u <= options.users; u++) {
    const user: SimUser = { name: `sim-${run}-user-${u}`, directories: [], token: '' };
    const first = new Phone(user, `sim-${run}-u${u}-device-1`, tally, options.urls, phones.length);
    await first.start();
    const client = first.client;
    if (!client?.user) throw new Error('the first phone did not log in');
    // The SDK keeps its token to itself; the checks read the server with one of their own.
    const login = await fetch(`${options.urls[0]}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: `${user.name}#checks` }) });
    const { token, directories } = (await login.json()) as { token: string; directories: { id: number }[] };
    user.token = token;
    user.directories.push(directories[0].id, await createDirectory(options.urls[0], token, `sim ${u}`));
    for (const directoryId of user.directories) client.subscribe(directoryId);
    phones.push(first);
    for (let d = 2; d <= options.devices; d++) {
      const phone = new Phone(user, `sim-${run}-u${u}-device-${d}`, tally, options.urls, phones.length);
      await phone.start();
      phones.push(phone);
    }
    users.push(user);
  }
  return { users, phones };
}

/** One random scan: mostly in, some out (a few refused for want of stock), now and then a stocktake. */
function randomScan(user: SimUser, codes: number): ScanRequest {
  const directoryId = pick(user.directories);
  const code = `SIM-${Math.floor(Math.random() * codes)}`;
  const roll = Math.random();
  if (roll < 0.7) return { directoryId, op: 'in', code, qty: 1 + Math.floor(Math.random() * 3) };
  if (roll < 0.92) return { directoryId, op: 'out', code, qty: 1 + Math.floor(Math.random() * 2) };
  return { directoryId, op: 'set', code, qty: Math.floor(Math.random() * 15) };
}

/** Disrupts one phone at random intervals (exponential, so they do not come in step) until `over` resolves. */
async function disrupt(phone: Phone, options: SimulateOptions, tally: Tally, over: Promise<void>): Promise<void> {
  if (options.disruptEvery === 0) return;
  let ended = false;
  void over.then(() => (ended = true));
  for (;;) {
    await Promise.race([sleep(-Math.log(1 - Math.random()) * options.disruptEvery * 1000), over]);
    if (ended) return;
    const roll = Math.random();
    if (roll < 0.4) {
      tally.disruptions.drop++;
      phone.network.drop();
    } else if (roll < 0.85) {
      const kind = roll < 0.65 ? 'offline' : 'noSocket';
      tally.disruptions[kind]++;
      phone.network.mode = kind === 'offline' ? 'down' : 'noSocket';
      phone.network.drop();
      await sleep(between(1_000, 4_000));
      phone.network.mode = 'up';
      phone.client?.reconnectNow();
    } else {
      tally.disruptions.kill++;
      phone.kill();
      await sleep(between(500, 2_000));
      await phone.start();
    }
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  for (const url of options.urls) {
    const health = await fetch(`${url}/healthz`).catch(() => null);
    if (health?.status !== 200) throw new Error(`no scancode server answers at ${url} (start one with npm start, in dev-login mode)`);
  }
  const tally: Tally = {
    wire: { sends: new Map(), lastSent: new Map() },
    made: new Map(),
    applied: new Map(),
    refused: new Map(),
    settledTwice: [],
    latencies: [],
    duplicates: 0,
    overHttp: 0,
    reconnects: 0,
    disruptions: { drop: 0, offline: 0, noSocket: 0, kill: 0 },
  };
  const { users, phones } = await setUp(options, tally);
  const progress = new Progress(process.stdout.isTTY === true);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let endScanning: () => void = () => undefined;
  const over = new Promise<void>((resolve) => (endScanning = resolve));
  const disruptions = phones.map((phone) => disrupt(phone, options, tally, over));
  const ticker = setInterval(() => progress.show(progressLine(elapsed(), phones, tally)), 250);

  // Scans at the rate asked, each from a phone whose app is running (offline ones queue them).
  const interval = 1000 / options.rate;
  for (let n = 0; elapsed() < options.duration; n++) {
    const running = phones.filter((phone) => phone.client !== null);
    if (running.length > 0) {
      const phone = pick(running);
      phone.scan(randomScan(phone.user, options.codes));
    }
    await sleep(Math.max(0, started + (n + 1) * interval - performance.now()));
  }
  endScanning();
  await Promise.all(disruptions); // a disruption under way (an offline spell, a restart) ends first

  // Everything back: networks up, killed apps started, and time to settle.
  const stopped = performance.now();
  for (const phone of phones) {
    phone.network.mode = 'up';
    if (phone.client === null) await phone.start();
    phone.client?.reconnectNow();
  }
  let waiting: string[] = [];
  while (performance.now() - stopped < options.settleSeconds * 1000) {
    waiting = await unsettled(options.urls[0], users, phones);
    if (waiting.length === 0) break;
    await sleep(250);
  }
  const settleMs = performance.now() - stopped;
  clearInterval(ticker);
  progress.show(progressLine(elapsed(), phones, tally));
  progress.done();

  const problems = waiting.length > 0 ? waiting.map((what) => `not settled after ${options.settleSeconds} s: ${what}`) : [];
  problems.push(...(await check(options.urls[0], users, phones, tally)));
  for (const phone of phones) phone.kill();
  process.stdout.write(`${summary(options, tally, users.length * 2, problems, settleMs)}\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`simulate: ${error instanceof UsageError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 2;
});
