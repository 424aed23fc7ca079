import type { SimulateOptions } from './options';
import type { Phone, Tally } from './phone';
import type { RunOutput, Scenario } from './run';

/** The live progress line and the final summary. */

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const resends = (tally: Tally) => [...tally.wire.sends.values()].reduce((sum, times) => sum + Math.max(0, times - 1), 0);

export function progressLine(seconds: number, phones: Phone[], tally: Tally): string {
  const online = phones.filter((phone) => phone.client?.status === 'online').length;
  const pending = phones.reduce((sum, phone) => sum + (phone.client?.pending().length ?? 0), 0);
  return (
    `${seconds.toFixed(0).padStart(4)}s  scans ${tally.made.size}  applied ${tally.applied.size}  refused ${tally.refused.size}  pending ${pending}  ` +
    `dups ${tally.duplicates}  resends ${resends(tally)}  reconnects ${tally.reconnects}  online ${online}/${phones.length}  ` +
    `ack p50 ${percentile(tally.latencies, 50).toFixed(0)}ms p99 ${percentile(tally.latencies, 99).toFixed(0)}ms`
  );
}

/** Rewrites one line on a terminal; elsewhere prints a line now and then. */
export class Progress {
  private lastPrinted = 0;

  constructor(private readonly out: RunOutput) {}

  show(line: string): void {
    if (this.out.tty) {
      this.out.write(`\r\x1b[2K${line}`);
    } else if (Date.now() - this.lastPrinted >= 5_000) {
      this.out.write(`${line}\n`);
      this.lastPrinted = Date.now();
    }
  }

  done(): void {
    if (this.out.tty) this.out.write('\n');
  }
}

export function summary(options: SimulateOptions, scenario: Pick<Scenario, 'title' | 'passed' | 'lines'>, tally: Tally, problems: string[], settleMs: number): string {
  const refusals: Record<string, number> = {};
  for (const error of tally.refused.values()) refusals[error.code] = (refusals[error.code] ?? 0) + 1;
  const answers = tally.applied.size + tally.refused.size;
  const d = tally.disruptions;
  const lines = [
    `scancode simulate: ${scenario.title}, ${options.rate} scans/s for ${options.duration} s, against ${options.urls.join(' + ')}`,
    `  scans        ${tally.made.size} made: ${tally.applied.size} applied, ${tally.refused.size} refused (${
      Object.entries(refusals)
        .map(([code, n]) => `${code} ${n}`)
        .join(', ') || 'none'
    })`,
    `  acks         ${answers} answers (${answers - tally.overHttp} over the socket, ${tally.overHttp} over POST /api/sync), ${tally.duplicates} duplicates (applied before, answered again)`,
    `  resends      ${resends(tally)} (scans put on the wire again: lost acks, drops, app restarts)`,
    `  reconnects   ${tally.reconnects} (disruptions: ${d.drop} drops, ${d.offline} offline, ${d.noSocket} socket blocked, ${d.kill} app kills)`,
    `  ack latency  p50 ${percentile(tally.latencies, 50).toFixed(1)} ms, p99 ${percentile(tally.latencies, 99).toFixed(1)} ms (last send to answer, ${tally.latencies.length} answers)`,
    `  settled in   ${(settleMs / 1000).toFixed(1)} s after the scanning stopped`,
    ...scenario.lines(),
    problems.length === 0
      ? `  checks       ${scenario.passed}\n  result       OK`
      : `  checks       ${problems.length} disagreements:\n${problems
          .slice(0, 40)
          .map((problem) => `    - ${problem}`)
          .join('\n')}\n  result       FAILED`,
  ];
  return lines.join('\n');
}
