/**
 * The bench's options, from flags (`npm run bench -- --quick --sections=closed,open`) or the matching
 * BENCH_* variables (`BENCH_SECTIONS=closed,open`); a flag wins over its variable.
 */

export const SECTIONS = ['closed', 'transfers', 'counts', 'open', 'fanout', 'memory', 'baselines', 'socketio', 'curves', 'snapshot', 'bus', 'webhooks'] as const;
export type Section = (typeof SECTIONS)[number];
export const DATABASES = ['mariadb', 'sqlite'] as const;
export type Database = (typeof DATABASES)[number];

export interface Options {
  quick: boolean;
  build: boolean;
  sections: Section[];
  databases: Database[];
  /** Server URL without a database (the bench creates and drops its own). */
  mysqlUrl: string;
  /** Client processes (forked). */
  clients: number;
  /** Closed loop: unmeasured warm-up, then the measured run, per run. */
  warmupMs: number;
  closedMs: number;
  /** Open loop: offered rates, the length of each step, how long to wait for the last acks. */
  rates: number[];
  stepMs: number;
  drainMs: number;
  fanoutWatchers: number;
  fanoutScans: number;
  /** Idle subscribed sockets for the memory section. */
  sockets: number;
  /** Length of each raw baseline. */
  baselineMs: number;
  /** Longest wait, after a step, for the server to go idle before the next one. */
  quietMs: number;
  /** Cost curves: the numbers of directories (2 phones each), the total rate offered, the length of each point, and on which databases. */
  curveDirectories: number[];
  curveRate: number;
  curveMs: number;
  curveDatabases: Database[];
  /** Snapshot time: the goods of each directory measured. */
  snapshotGoods: number[];
  /** Bus: the numbers of instances, the directories spread over them, the rate offered and for how long. */
  busInstances: number[];
  busDirectories: number;
  busRate: number;
  busMs: number;
  redisUrl: string;
  /** Webhooks: the measured length of each of its three closed loops (after the usual warm-up). */
  webhookMs: number;
  /** Write the SVG charts into docs/bench/ (always at the end of a full run of every section). */
  charts: boolean;
}

export const USAGE = `npm run bench -- [--quick] [--sections=${SECTIONS.join(',')}] [--databases=${DATABASES.join(',')}]
  [--mysql-url=mysql://root@127.0.0.1:3306] [--clients=2] [--seconds=5] [--warmup-seconds=2] [--rates=500,1000,2000,5000]
  [--step-seconds=5] [--drain-seconds=10] [--watchers=1000] [--fanout-scans=50] [--sockets=10000] [--baseline-seconds=5] [--no-build]
  [--curve-directories=1,10,100,1000,10000] [--curve-rate=2000] [--curve-seconds=5] [--curve-databases=mariadb]
  [--snapshot-goods=1,10000,100000] [--bus-instances=1,2,4] [--bus-directories=40] [--bus-rate=1000] [--bus-seconds=4]
  [--redis-url=redis://127.0.0.1:6379] [--webhook-seconds=6] [--charts]
Every flag has a BENCH_* variable (--step-seconds: BENCH_STEP_SECONDS); BENCH_MYSQL_URL is the MariaDB server.`;

function positives(name: string, text: string): number[] {
  const values = text.split(',').map(Number);
  if (values.some((value) => !Number.isFinite(value) || value <= 0)) throw new Error(`--${name} must be positive numbers, got "${text}"`);
  return values;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!match) throw new Error(`unknown argument ${argv[i]}\n${USAGE}`);
    const [, name, value] = match;
    if (name === 'quick' || name === 'help' || name === 'charts') flags.set(name, 'true');
    else if (name === 'no-build') flags.set('build', 'false');
    else flags.set(name, value ?? argv[++i] ?? '');
  }
  if (flags.has('help')) throw new Error(USAGE);
  const get = (name: string): string | undefined => flags.get(name) ?? env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const quick = get('quick') === 'true' || get('quick') === '1';
  const number = (name: string, full: number, short: number): number => {
    const raw = get(name);
    const value = raw === undefined || raw === '' ? (quick ? short : full) : Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
    return value;
  };
  const list = <T extends string>(name: string, known: readonly T[], fallback = known.join(',')): T[] => {
    const values = (get(name) ?? fallback)
      .split(',')
      .map((value) => value.trim())
      .filter(Boolean);
    for (const value of values) if (!known.includes(value as T)) throw new Error(`--${name}: "${value}" is not one of ${known.join(', ')}`);
    return values as T[];
  };
  return {
    quick,
    build: get('build') !== 'false' && get('build') !== '0',
    sections: list('sections', SECTIONS),
    databases: list('databases', DATABASES),
    mysqlUrl: get('mysql-url') ?? 'mysql://root@127.0.0.1:3306',
    clients: Math.round(number('clients', 2, 2)),
    warmupMs: number('warmup-seconds', 2, 0.3) * 1000,
    closedMs: number('seconds', 5, 1) * 1000,
    rates: positives('rates', get('rates') ?? '500,1000,2000,5000'),
    stepMs: number('step-seconds', 5, 0.5) * 1000,
    drainMs: number('drain-seconds', 10, 1) * 1000,
    fanoutWatchers: Math.round(number('watchers', 1000, 100)),
    fanoutScans: Math.round(number('fanout-scans', 50, 5)),
    sockets: Math.round(number('sockets', 10_000, 500)),
    baselineMs: number('baseline-seconds', 5, 0.5) * 1000,
    quietMs: quick ? 3000 : 20_000,
    curveDirectories: positives('curve-directories', get('curve-directories') ?? (quick ? '1,10,100' : '1,10,100,1000,10000')).map(Math.round),
    curveRate: number('curve-rate', 2000, 2000),
    curveMs: number('curve-seconds', 5, 1.5) * 1000,
    curveDatabases: list('curve-databases', DATABASES, 'mariadb'),
    snapshotGoods: positives('snapshot-goods', get('snapshot-goods') ?? (quick ? '1,1000,10000' : '1,10000,100000')).map(Math.round),
    busInstances: positives('bus-instances', get('bus-instances') ?? (quick ? '1,2' : '1,2,4')).map(Math.round),
    busDirectories: Math.round(number('bus-directories', 40, 8)),
    busRate: number('bus-rate', 1000, 500),
    busMs: number('bus-seconds', 4, 1) * 1000,
    redisUrl: get('redis-url') ?? 'redis://127.0.0.1:6379',
    webhookMs: number('webhook-seconds', 6, 1) * 1000,
    charts: get('charts') === 'true' || get('charts') === '1',
  };
}
