/**
 * `npm run bench`: builds the server, starts it as it runs in production (node dist/src/main.js, set up
 * by its environment) on a fresh MariaDB database and on the embedded default, drives it over /ws from
 * forked client processes, runs the raw baselines, and prints one markdown table. See options.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { libsqlBaseline, mysqlBaselines } from './baselines';
import { clusterToolsInstalled, startPrivateCluster } from '../test/helpers/redis-cluster';
import { busPoints, type BusPoint } from './bus';
import { writeCharts } from './charts';
import { Clients } from './clients';
import { costCurve } from './curves';
import { probeHealthz } from './healthz-probe';
import { say } from './messages';
import { parseOptions, SECTIONS, type Database, type Options, type Section } from './options';
import { report, type Results, type ScancodeRun } from './report';
import { scaleReport } from './report-scale';
import { closedLoop, countLayout, echoRoundTrips, fanOut, layout, memory, openLoop, target, transferLayout, type Target } from './sections';
import { fileLimit, freshMysqlDatabase, ROOT, serverLog, startEcho, startScancode, type NodeProcess } from './server';
import { snapshotTimes } from './snapshot';
import { benchSocketIo } from './socketio';
import { webhookRuns } from './webhooks';

/** The sections measured on the one scancode server of each database (the others start servers of their own). */
const ON_SCANCODE: Section[] = ['closed', 'transfers', 'counts', 'open', 'fanout', 'memory', 'curves', 'snapshot', 'webhooks'];

/**
 * Runs one of the later sections; its failure is said and the run goes on (the table shows what was
 * measured), so that a long run is not lost to one section.
 */
async function attempt<T>(section: string, clients: Clients, measure: () => Promise<T>): Promise<T | undefined> {
  try {
    return await measure();
  } catch (error) {
    say(`  ${section} FAILED: ${error instanceof Error ? error.message : String(error)}`);
    // The sockets the section left open would join the next section's.
    await clients.close().catch(() => undefined);
    return undefined;
  }
}

/**
 * The bus section's largest point again on a private 3-master Redis Cluster, when redis-server and
 * redis-cli are installed (test/helpers/redis-cluster.ts starts it, as the Cluster tests do).
 */
async function busOnCluster(main: string, clients: Clients, o: Options, tmp: string): Promise<BusPoint[] | undefined> {
  if (!clusterToolsInstalled()) {
    say('  bus on a Redis Cluster: skipped (redis-server or redis-cli missing)');
    return undefined;
  }
  const cluster = await startPrivateCluster(3);
  try {
    return await busPoints(main, clients, o, tmp, cluster.url, [Math.max(...o.busInstances)]);
  } finally {
    await cluster.stop();
  }
}

/** Whether something answers at the Redis URL's host and port. */
function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname, () => (socket.end(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.setTimeout(2000, () => (socket.destroy(), resolve(false)));
  });
}

/**
 * Compiles the server as `npm run build` does (tsconfig.build.json) into a directory of the bench's own,
 * so that a rebuild of dist/ by someone else during the run cannot change the server under measurement.
 */
function buildServer(): string {
  say('building the server (tsc -p tsconfig.build.json --outDir dist/bench-server)');
  const outDir = join(ROOT, 'dist', 'bench-server');
  const incremental = ['--incremental', '--tsBuildInfoFile', join(outDir, 'build.tsbuildinfo')];
  const built = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir, ...incremental], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (built.status !== 0) throw new Error('the server did not build; fix it, or pass --no-build to bench dist/src/main.js as `npm run build` left it');
  return join(outDir, 'src', 'main.js');
}

/** Which server was measured: the commit, and whether src/ differs from it. */
function serverRevision(built: boolean): string {
  if (!built) return 'dist/src/main.js as `npm run build` last left it';
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const dirty = git('status', '--porcelain', '--', 'src', 'tsconfig.build.json') !== '';
  return `commit ${git('rev-parse', '--short', 'HEAD') || '?'}${dirty ? ' + uncommitted changes in src/' : ', src/ as committed'}`;
}

async function benchScancode(main: string, db: Database, o: Options, clients: Clients, tmp: string, results: Results): Promise<ScancodeRun> {
  const run: ScancodeRun = {};
  const database = db === 'mariadb' ? await freshMysqlDatabase(o.mysqlUrl, `scancode_bench_${process.pid}`) : null;
  if (database) results.mariadbVersion = database.version;
  const url = database?.url ?? `file:${join(tmp, 'scancode.db')}`;
  const logPath = join(tmp, `${db}.log`);
  let server: NodeProcess | null = null;
  try {
    say(`${db}: starting the server (${url})`);
    server = await startScancode(main, url, logPath);
    say(`${db}: server ready`);
    const t: Target = target(server);
    if (o.sections.includes('closed') || o.sections.includes('open')) {
      const many = await layout(t.base, 'many', 50);
      if (o.sections.includes('closed')) {
        const one = await layout(t.base, 'one', 1);
        let probe = probeHealthz(t.base, 10);
        run.closedOne = await closedLoop(t, clients, one, o, 'c1');
        const healthOne = await probe.stop();
        say(`  1a: ${Math.round(run.closedOne.rate)} scans/s; ${run.closedOne.watchers}; /healthz max ${healthOne.max.toFixed(1)} ms`);
        probe = probeHealthz(t.base, 10);
        run.closedMany = await closedLoop(t, clients, many, o, 'c50');
        const healthMany = await probe.stop();
        say(`  1b: ${Math.round(run.closedMany.rate)} scans/s; ${run.closedMany.watchers}; /healthz max ${healthMany.max.toFixed(1)} ms`);
        run.healthz = { one: healthOne, many: healthMany };
      }
      if (o.sections.includes('open')) run.open = await openLoop(t, clients, many, o);
    }
    if (o.sections.includes('transfers')) {
      run.transfers = await closedLoop(t, clients, await transferLayout(t.base), o, 'xfer');
      say(`  1c: ${Math.round(run.transfers.rate)} transfers/s; ${run.transfers.watchers}`);
    }
    if (o.sections.includes('counts')) {
      run.countLines = await closedLoop(t, clients, await countLayout(t.base), o, 'lines');
      say(`  1d: ${Math.round(run.countLines.rate)} count lines/s; ${run.countLines.watchers}`);
    }
    if (o.sections.includes('fanout')) {
      run.fanout = await fanOut(t, clients, o);
      say(`  fan-out: delivery p50 ${run.fanout.delivery.p50.toFixed(1)} ms, p99 ${run.fanout.delivery.p99.toFixed(1)} ms; ${run.fanout.check}`);
    }
    if (o.sections.includes('webhooks')) run.webhooks = await attempt('webhooks', clients, () => webhookRuns(t, clients, o));
    if (o.sections.includes('snapshot')) {
      const into = database ? { kind: 'mariadb' as const, url: database.url } : { kind: 'sqlite' as const, path: join(tmp, 'scancode.db') };
      run.snapshot = await attempt('snapshot', clients, () => snapshotTimes(t, into, o));
    }
    if (o.sections.includes('curves') && o.curveDatabases.includes(db)) run.curve = await attempt('curves', clients, () => costCurve(t, clients, o, 'curve'));
    if (o.sections.includes('memory')) {
      // A fresh process (but in a quick run), so that the heap grown by the runs above does not hide the sockets' share.
      if (!o.quick) {
        await server.stop();
        server = await startScancode(main, url, logPath);
      }
      run.memory = await memory(target(server), clients, o, false);
      say(`  memory: ${Math.round(run.memory.bytesPerSocket)} bytes per socket over ${run.memory.sockets} sockets`);
    }
  } finally {
    await server?.stop();
    await database?.drop();
  }
  run.log = serverLog(logPath);
  if (run.log.errors + run.log.warnings > 0) say(`  the server logged ${run.log.errors} errors and ${run.log.warnings} warnings; the log: ${logPath}`);
  return run;
}

async function baselines(o: Options, clients: Clients, tmp: string, results: Results): Promise<void> {
  say('baselines: raw ws echo server');
  let echo = await startEcho(join(tmp, 'echo.log'));
  try {
    results.echo = await echoRoundTrips(echo, clients, o);
    if (o.sections.includes('memory')) {
      if (!o.quick) {
        await echo.stop();
        echo = await startEcho(join(tmp, 'echo.log'));
      }
      results.echoMemory = await memory(target(echo), clients, o, true);
    }
  } finally {
    await echo.stop();
  }
  if (o.databases.includes('mariadb')) {
    say('baselines: raw mysql2');
    const database = await freshMysqlDatabase(o.mysqlUrl, `scancode_bench_raw_${process.pid}`);
    results.mariadbVersion ??= database.version;
    try {
      results.mysql = await mysqlBaselines(database.url, o.warmupMs, o.baselineMs);
    } finally {
      await database.drop();
    }
  }
  if (o.databases.includes('sqlite')) {
    say('baselines: raw libsql');
    results.libsql = await libsqlBaseline(tmp, o.warmupMs, o.baselineMs);
    results.libsqlFifty = await libsqlBaseline(tmp, o.warmupMs, o.baselineMs, 50);
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), process.env);
  const main = o.build ? buildServer() : join(ROOT, 'dist', 'src', 'main.js');
  const limit = fileLimit();
  // The server holds every socket; each client process holds its share.
  if (o.sections.includes('memory') && limit < o.sockets + 500) say(`warning: the open-file limit is ${limit}, under the ${o.sockets} sockets of the memory section`);
  const curveSockets = 2 * Math.max(...o.curveDirectories);
  if (o.sections.includes('curves') && limit < curveSockets + 500) say(`warning: the open-file limit is ${limit}, under the ${curveSockets} sockets of the cost curve's largest point`);
  const results: Results = {
    server: serverRevision(o.build),
    load: [['start', loadavg()[0]]],
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? '?',
    node: process.version,
    fileLimit: String(limit),
    runs: {},
  };
  const tmp = mkdtempSync(join(tmpdir(), 'scancode-bench-'));
  const clients = Clients.start(o.clients);
  try {
    for (const db of o.databases) {
      if (!o.sections.some((s) => ON_SCANCODE.includes(s))) continue;
      results.load.push([`${db} part`, loadavg()[0]]);
      results.runs[db] = await benchScancode(main, db, o, clients, tmp, results);
    }
    if (o.sections.includes('socketio')) {
      results.load.push(['Socket.IO', loadavg()[0]]);
      results.socketio = {};
      for (const db of o.databases) results.socketio[db] = await attempt('Socket.IO', clients, () => benchSocketIo(db, o, clients, tmp));
    }
    if (o.sections.includes('bus')) {
      results.load.push(['bus', loadavg()[0]]);
      if (!o.databases.includes('mariadb')) results.busSkipped = 'the instances share a MariaDB database; --databases has no mariadb';
      else if (!(await reachable(o.redisUrl))) results.busSkipped = `no Redis at ${o.redisUrl}`;
      else {
        results.bus = await attempt('bus', clients, () => busPoints(main, clients, o, tmp));
        results.busCluster = await attempt('bus on a Redis Cluster', clients, () => busOnCluster(main, clients, o, tmp));
      }
    }
    if (o.sections.includes('baselines')) {
      results.load.push(['baselines', loadavg()[0]]);
      await baselines(o, clients, tmp, results);
    }
  } finally {
    clients.stop();
  }
  results.load.push(['end', loadavg()[0]]);
  say('done\n');
  console.log(report(results, o));
  const more = scaleReport(results, o);
  if (more) console.log(`\n${more}`);
  // The charts of a full run of every section are the README's; a partial run writes them when asked.
  if (o.charts || (!o.quick && SECTIONS.every((s) => o.sections.includes(s)))) {
    for (const file of writeCharts(results, join(ROOT, 'docs', 'bench'))) say(`wrote ${file}`);
  }
  // The server logs stay for reading when they hold anything.
  if (Object.values(results.runs).every((run) => !run.log || run.log.errors + run.log.warnings === 0)) rmSync(tmp, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
