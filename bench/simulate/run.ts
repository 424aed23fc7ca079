import type { ScanRequest } from '../../client/src';
import type { SimulateOptions } from './options';
import { sleep, type Phone, type Tally } from './phone';
import { Progress, progressLine, summary } from './report';
import { soloScenario } from './solo';
import { stocktakeScenario } from './stocktake';
import { teamScenario } from './team';

/**
 * One run of the simulator against servers that already run: the scenario's people and phones set up,
 * scanning at the rate asked while phones are disrupted, everything settled, then the scenario's
 * checks. `npm run simulate` (main.ts) and the tests call this.
 */

/** What a scenario is: its phones, what each scan is, what happens during the run, and its checks. */
export interface Scenario {
  /** The first line of the summary. */
  title: string;
  phones: Phone[];
  /** The phones disrupted at random (default: every phone); a scenario may script the others' disruptions itself. */
  disrupted?: Phone[];
  /** The n-th scan: which phone makes it, and what; null when no phone's app is running. */
  nextScan(n: number): { phone: Phone; scan: ScanRequest } | null;
  /** Whether the scanning goes on past `--duration` (until something the scenario waits for, at most `--settle` seconds more). */
  scanning?(): boolean;
  /** Called on every tick of the scanning (seconds since it began): what happens to the team meanwhile. */
  during?(elapsed: number): void;
  /** What has not settled yet (every phone answered and caught up), or nothing. */
  unsettled(): Promise<string[]>;
  /** Every disagreement of the run, or nothing. */
  check(tally: Tally): Promise<string[]>;
  /** The summary's line when every check passed, and any lines of its own. */
  passed: string;
  lines(): string[];
}

const between = (min: number, max: number) => min + Math.random() * (max - min);

export interface RunOutput {
  /** Where the progress line goes; a terminal gets it rewritten in place. */
  write(text: string): void;
  tty: boolean;
}

export interface RunResult {
  problems: string[];
  summary: string;
  tally: Tally;
}

export function newTally(): Tally {
  return {
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
}

/** Disrupts one phone at random intervals (exponential, so they do not come in step) until `over` resolves. */
async function disrupt(phone: Phone, options: SimulateOptions, tally: Tally, over: Promise<void>): Promise<void> {
  if (options.disruptEvery === 0) return;
  let ended = false;
  void over.then(() => (ended = true));
  // A wait cut short when the scanning ends, its timer cleared (a pending one would keep the process alive).
  const untilNext = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      void over.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  for (;;) {
    await untilNext(-Math.log(1 - Math.random()) * options.disruptEvery * 1000);
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

export async function simulate(options: SimulateOptions, out: RunOutput): Promise<RunResult> {
  const tally = newTally();
  const scenarios = { solo: soloScenario, team: teamScenario, stocktake: stocktakeScenario };
  const scenario = await scenarios[options.scenario](options, tally);
  const { phones } = scenario;
  const progress = new Progress(out);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let endScanning: () => void = () => undefined;
  const over = new Promise<void>((resolve) => (endScanning = resolve));
  const disruptions = (scenario.disrupted ?? phones).map((phone) => disrupt(phone, options, tally, over));
  const ticker = setInterval(() => progress.show(progressLine(elapsed(), phones, tally)), 250);

  try {
    // Scans at the rate asked, each from a phone whose app is running (offline ones queue them).
    const interval = 1000 / options.rate;
    const goesOn = () => elapsed() < options.duration || (elapsed() < options.duration + options.settleSeconds && scenario.scanning?.() === true);
    for (let n = 0; goesOn(); n++) {
      scenario.during?.(elapsed());
      const next = scenario.nextScan(n);
      if (next) next.phone.scan(next.scan);
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
      waiting = await scenario.unsettled();
      if (waiting.length === 0) break;
      await sleep(250);
    }
    const settleMs = performance.now() - stopped;
    clearInterval(ticker);
    progress.show(progressLine(elapsed(), phones, tally));
    progress.done();

    const problems = waiting.length > 0 ? waiting.map((what) => `not settled after ${options.settleSeconds} s: ${what}`) : [];
    problems.push(...(await scenario.check(tally)));
    return { problems, tally, summary: summary(options, scenario, tally, problems, settleMs) };
  } finally {
    clearInterval(ticker);
    endScanning();
    for (const phone of phones) phone.kill();
  }
}
