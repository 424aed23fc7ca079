/** The bench's SVG charts (docs/bench/), drawn from a run's results by bench/svg.ts. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from './options';
import type { Results } from './report';
import { lineChart, type Series } from './svg';

const NAMES: Record<Database, string> = { mariadb: 'MariaDB', sqlite: 'embedded' };
const DBS: Database[] = ['mariadb', 'sqlite'];

/** Writes the charts the run has data for into `directory`; returns the files written. */
export function writeCharts(results: Results, directory: string): string[] {
  mkdirSync(directory, { recursive: true });
  const written: string[] = [];
  const write = (name: string, svg: string) => {
    writeFileSync(join(directory, name), svg);
    written.push(join(directory, name));
  };
  const curve = (pick: (p: NonNullable<Results['runs'][Database]>['curve']) => [number, number][]): Series[] =>
    DBS.filter((db) => results.runs[db]?.curve?.length).map((db) => ({ name: NAMES[db], points: pick(results.runs[db]?.curve) }));
  const offered = DBS.map((db) => results.runs[db]?.curve?.[0]?.offered).find((r) => r !== undefined);
  if (offered !== undefined) {
    const rates = curve((points) => (points ?? []).map((p) => [p.directories, p.rate]));
    rates.push({ name: 'offered', points: rates[0].points.map(([x]) => [x, offered]) });
    write(
      'directories-scans.svg',
      lineChart({ title: `Acked scans/s, ${offered.toLocaleString('en-US')}/s offered, 2 phones per directory`, xLabel: 'directories', yLabel: 'acked scans/s', xLog: true, series: rates }),
    );
    write(
      'directories-p99.svg',
      lineChart({
        title: 'Ack p99 as directories grow (open loop)',
        xLabel: 'directories',
        yLabel: 'ack p99 (ms)',
        xLog: true,
        series: curve((points) => (points ?? []).map((p) => [p.directories, p.p99])),
      }),
    );
  }
  const snapshots = DBS.filter((db) => results.runs[db]?.snapshot?.length).map((db) => ({
    name: NAMES[db],
    points: (results.runs[db]?.snapshot ?? []).map((p): [number, number] => [p.goods, p.p50]),
  }));
  if (snapshots.length) {
    write('snapshot.svg', lineChart({ title: 'Snapshot time (subscribe → last page), median of 3', xLabel: 'goods in the directory', yLabel: 'ms', xLog: true, yLog: true, series: snapshots }));
  }
  const bus = (results.bus ?? []).filter((p) => p.published > 0);
  if (bus.length) {
    // Shares rather than counts: each point's run published a different number of changes.
    const share = (pick: (values: number[]) => number) =>
      bus.flatMap((p): [number, number][] => {
        const known = p.received.filter((r): r is number => r !== null);
        return known.length ? [[p.instances, pick(known) / p.published]] : [];
      });
    write(
      'bus.svg',
      lineChart({
        title: 'Bus messages received per instance ÷ all published (one Redis)',
        xLabel: 'instances (directories spread evenly)',
        yLabel: 'share of the published messages',
        xTicks: bus.map((p) => p.instances),
        series: [
          { name: 'busiest instance', points: share((v) => Math.max(...v)) },
          { name: 'mean per instance', points: share((v) => v.reduce((a, b) => a + b, 0) / v.length) },
          { name: 'its own directories (the least)', points: bus.map((p) => [p.instances, Math.max(...p.watched) / p.published]) },
        ],
      }),
    );
  }
  return written;
}
