import type { Kind } from './model';
import { OUTCOMES, type Anomaly } from './plan-model';
import type { ImportResult } from './run';

/** Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise (a CI log, a file). */
export interface Progress {
  stage(message: string): void;
  step(label: string, done: number, total: number): void;
  /** Ends a bar in progress, so the next output starts on a line of its own. */
  end(): void;
}

export function progressOn(stream: NodeJS.WriteStream): Progress {
  const width = 30;
  let open = false;
  const end = () => {
    if (open) stream.write('\n');
    open = false;
  };
  return {
    stage(message) {
      end();
      stream.write(`${message}\n`);
    },
    step(label, done, total) {
      if (stream.isTTY) {
        const filled = total === 0 ? width : Math.round((done / total) * width);
        stream.write(`\r${label.padEnd(12)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
        open = true;
        if (done === total) end();
        return;
      }
      // A line each tenth of the way: a log file gets the progress without a line per directory.
      const tenth = (n: number) => Math.floor((n * 10) / Math.max(total, 1));
      if (done === total || tenth(done) > tenth(done - 1)) stream.write(`${label} ${done}/${total}\n`);
    },
    end,
  };
}

const LABELS: Record<Kind, string> = { user: 'users', directory: 'directories', goods: 'goods', log: 'log entries' };

/** The summary printed at the end: every old row's outcome, the changes written, every anomaly with its old id. */
export function formatSummary(result: ImportResult, from: string, into: string): string {
  const { plan, failures, dryRun } = result;
  const lines = [`${dryRun ? 'Dry run (nothing written): ' : ''}import from ${from} into ${into}`, ''];
  const header = ['', ...OUTCOMES, 'total'];
  lines.push(row(header));
  for (const kind of Object.keys(LABELS) as Kind[]) {
    const counts = OUTCOMES.map((o) => plan.tally[kind][o]);
    lines.push(row([LABELS[kind], ...counts.map(String), String(counts.reduce((a, b) => a + b, 0))]));
  }
  const failed = new Set(failures.map((f) => f.oldId));
  const written = plan.directories.filter((d) => !failed.has(d.oldId)).flatMap((d) => d.changes);
  const changes = written.filter((c) => c.revision > 0).length;
  const creates = written.length - changes;
  lines.push('', `${dryRun ? 'changes to write' : 'changes written'}: ${changes} (and ${creates} create entries, revision 0)`);
  const groups = groupAnomalies(plan.anomalies);
  lines.push('', `anomalies: ${groups.length === 0 ? 'none' : plan.anomalies.length}`);
  for (const group of groups) lines.push(`  ${group.table} ${group.ids.join(', ')}: ${group.problem}: ${group.detail}`);
  if (failures.length > 0) {
    lines.push('', `not imported, run again: ${failures.length} directories`);
    for (const failure of failures) lines.push(`  mycode_directory ${failure.oldId}: ${failure.message}`);
  }
  return lines.join('\n') + '\n';
}

function row(cells: string[]): string {
  return (
    cells[0].padEnd(12) +
    cells
      .slice(1)
      .map((cell) => cell.padStart(10))
      .join('')
  );
}

/** Rows with the same problem and explanation on one line, their ids listed. */
function groupAnomalies(anomalies: readonly Anomaly[]): { table: string; problem: string; detail: string; ids: number[] }[] {
  const groups = new Map<string, { table: string; problem: string; detail: string; ids: number[] }>();
  for (const a of anomalies) {
    const key = `${a.table}\u0000${a.problem}\u0000${a.detail}`;
    const group = groups.get(key) ?? { table: a.table, problem: a.problem, detail: a.detail, ids: [] };
    group.ids.push(a.oldId);
    groups.set(key, group);
  }
  return [...groups.values()];
}
