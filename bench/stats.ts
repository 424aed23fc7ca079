import type { ScanReply, SettleReply } from './messages';

export interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface Throughput extends Latency {
  /** Measured acks per second over the measured window. */
  rate: number;
  /** Every ok ack, warm-up included. */
  acked: number;
  sent: number;
  errors: Record<string, number>;
}

/** Nearest-rank percentiles of the samples (ms). */
export function latency(samples: number[]): Latency {
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : NaN };
}

/** The client processes' reports as one: acks over the window from the earliest start to the last ack. */
export function throughput(replies: ScanReply[]): Throughput {
  const errors: Record<string, number> = {};
  for (const reply of replies) for (const [code, count] of Object.entries(reply.errors)) errors[code] = (errors[code] ?? 0) + count;
  const measured = sum(replies.map((r) => r.measured));
  const from = Math.min(...replies.map((r) => r.from));
  const to = Math.max(...replies.map((r) => r.to));
  return {
    ...latency(replies.flatMap((r) => r.latencies)),
    rate: to > from ? (measured * 1000) / (to - from) : 0,
    acked: sum(replies.map((r) => r.acked)),
    sent: sum(replies.map((r) => r.sent)),
    errors,
  };
}

/** "OK (…)" when every watcher saw every revision once, in order, up to the last acked one (and every count line's push); else the violations. */
export function watcherVerdict(settled: SettleReply[]): string {
  const watchers = sum(settled.map((s) => s.watchers));
  const frames = sum(settled.map((s) => s.frames));
  const pushes = sum(settled.map((s) => s.pushes));
  const violations = sum(settled.map((s) => s.violationCount));
  if (violations === 0) return `OK (${watchers} watchers, ${frames} change frames${pushes > 0 ? `, ${pushes} count pushes` : ''})`;
  const first = settled.flatMap((s) => s.violations).slice(0, 3);
  return `VIOLATION: ${violations} over ${watchers} watchers, e.g. ${first.join('; ')}`;
}

export function errorText(errors: Record<string, number>): string {
  const entries = Object.entries(errors);
  return entries.length ? entries.map(([code, count]) => `${count} ${code}`).join(', ') : '';
}

export const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);
