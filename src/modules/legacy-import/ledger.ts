import type { Kind } from './model';
import { OUTCOMES, type Anomaly, type OldTable, type Outcome, type Tally } from './plan-model';

const KINDS: readonly Kind[] = ['user', 'directory', 'goods', 'log'];

export function emptyTally(): Tally {
  const outcomes = () => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  return Object.fromEntries(KINDS.map((k) => [k, outcomes()])) as Tally;
}

/**
 * What the planning found, as it goes: one outcome per old row (so the summary accounts for every row)
 * and the anomalies, each naming its old table and id.
 */
export class Ledger {
  readonly anomalies: Anomaly[] = [];
  readonly tally: Tally = emptyTally();

  count(kind: Kind, outcome: Outcome, n = 1): void {
    this.tally[kind][outcome] += n;
  }

  report(anomalies: readonly Anomaly[]): void {
    this.anomalies.push(...anomalies);
  }

  /** Rows that are not brought across: counted as skipped and reported one by one. */
  skip(kind: Kind, table: OldTable, ids: readonly number[], detail: string, problem: Anomaly['problem'] = 'skipped'): void {
    this.count(kind, 'skipped', ids.length);
    for (const oldId of ids) this.anomalies.push({ table, oldId, problem, detail });
  }
}
