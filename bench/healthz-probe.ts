/**
 * How long `/healthz` takes while a load runs: the "never slower than 20 ms" for the embedded
 * database. Polled from the bench's own process (the load comes from the forked clients), one request
 * at a time every `intervalMs`, on a kept-alive connection as a load balancer's check would use; a
 * stall that begins between two polls shows as the longest gap between answers, not in any answer.
 *
 *   const probe = probeHealthz(server.base);
 *   ...the load...
 *   const health = await probe.stop(); // { n, p50, p99, max, longestGapMs, failed }
 */
import { performance } from 'node:perf_hooks';
import { latency, type Latency } from './stats';

export interface HealthzLatency extends Latency {
  /** The longest time between two answers (or from the start to the first), ms. */
  longestGapMs: number;
  /** Polls answered with another status than 200, or not at all. */
  failed: number;
}

export interface HealthzProbe {
  /** Stops polling, waits for the poll in flight, and summarizes every answer since the start. */
  stop(): Promise<HealthzLatency>;
}

export function probeHealthz(baseUrl: string, intervalMs = 10): HealthzProbe {
  const took: number[] = [];
  let failed = 0;
  let running = true;
  const startedAt = performance.now();
  let lastAnswerAt = startedAt;
  let longestGapMs = 0;
  let wake: (() => void) | null = null;
  const loop = (async () => {
    while (running) {
      const sent = performance.now();
      try {
        const answer = await fetch(`${baseUrl}/healthz`);
        await answer.arrayBuffer();
        if (answer.status !== 200) failed++;
      } catch {
        failed++;
      }
      const answered = performance.now();
      took.push(answered - sent);
      longestGapMs = Math.max(longestGapMs, answered - lastAnswerAt);
      lastAnswerAt = answered;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs);
      });
    }
  })();
  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
      return { ...latency(took), longestGapMs, failed };
    },
  };
}
