/** `npm run simulate -- --users 3 --devices 2 --rate 20 --duration 30 --url http://127.0.0.1:3000` (or `--flag=value`) */
export interface SimulateOptions {
  /**
   * solo: each user scans into their own directories from their own phones. team: one directory
   * shared by an owner, two editors and a viewer (each a user on one phone, joined by the owner's
   * invites); one editor is removed half-way, and the checks cover what each role may do. stocktake:
   * three editors' phones count a directory of 1,000 goods into one count session (one of them offline
   * for a while) while the owner's phone keeps scanning in and out; then the count is finished.
   */
  scenario: 'solo' | 'team' | 'stocktake';
  /** Dev-login users, each with its own two directories (solo; a team is always four people). */
  users: number;
  /** Phones per user, each its own SDK client over its own storage (solo; in a team, one each). */
  devices: number;
  /** Scans per second, over all phones. */
  rate: number;
  /** Seconds of scanning (the settling and the checks come after). */
  duration: number;
  /** One server, or several instances of one deployment (comma-separated): phones switch between them on every reconnect. */
  urls: string[];
  /** Mean seconds between two disruptions of one phone (drop, offline, socket blocked, app killed); 0: none. */
  disruptEvery: number;
  /** Distinct codes per directory (fewer: more `out`s refused, more contention). */
  codes: number;
  /** How long the phones may take to settle after the scanning stops. */
  settleSeconds: number;
}

export const DEFAULTS: SimulateOptions = { scenario: 'solo', users: 3, devices: 2, rate: 20, duration: 30, urls: ['http://127.0.0.1:3000'], disruptEvery: 6, codes: 8, settleSeconds: 60 };

const SCENARIOS = ['solo', 'team', 'stocktake'] as const;

const USAGE = `usage: npm run simulate -- [--scenario solo|team|stocktake] [--users N] [--devices M] [--rate scans/s] [--duration s] [--url http://host:port[,http://other:port]] [--disrupt-every s] [--codes K]
  defaults: --scenario ${DEFAULTS.scenario} --users ${DEFAULTS.users} --devices ${DEFAULTS.devices} --rate ${DEFAULTS.rate} --duration ${DEFAULTS.duration} --url ${DEFAULTS.urls[0]} --disrupt-every ${DEFAULTS.disruptEvery} --codes ${DEFAULTS.codes}
  --scenario=team: an owner, two editors and a viewer, each on their own phone, in one directory; one editor removed half-way.
  --scenario=stocktake: 3 editors count 1,000 goods into one count session (one offline for a while) while the owner scans in and out; then the count is finished.
  against a server in dev-login mode (npm start without WeChat credentials).`;

export class UsageError extends Error {}

export function parseOptions(argv: string[]): SimulateOptions {
  const options = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    if (flag === '--help' || flag === '-h') throw new UsageError(USAGE);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value\n${USAGE}`);
    const number = (min: number) => {
      const parsed = Number(value);
      if (!Number.isFinite(parsed) || parsed < min) throw new UsageError(`${flag} must be a number of at least ${min}, not ${value}`);
      return parsed;
    };
    switch (flag) {
      case '--scenario':
        if (!SCENARIOS.includes(value as SimulateOptions['scenario'])) throw new UsageError(`--scenario must be solo, team or stocktake, not ${value}`);
        options.scenario = value as SimulateOptions['scenario'];
        break;
      case '--users':
        options.users = Math.floor(number(1));
        break;
      case '--devices':
        options.devices = Math.floor(number(1));
        break;
      case '--rate':
        options.rate = number(0.1);
        break;
      case '--duration':
        options.duration = number(1);
        break;
      case '--disrupt-every':
        options.disruptEvery = number(0);
        break;
      case '--codes':
        options.codes = Math.floor(number(1));
        break;
      case '--settle':
        options.settleSeconds = number(1);
        break;
      case '--url':
        options.urls = value.split(',').map((url) => url.trim().replace(/\/+$/, ''));
        if (options.urls.some((url) => !/^https?:\/\/[^/]+$/.test(url))) throw new UsageError(`--url must be http(s)://host:port, comma-separated, not ${value}`);
        break;
      default:
        throw new UsageError(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  return options;
}
