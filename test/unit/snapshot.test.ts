import fc from 'fast-check';
import { SNAPSHOT_PAGE_BYTES } from '../../src/contract';
import type { GoodsView } from '../../src/modules/inventory/views';
import { SharedSnapshots, SNAPSHOT_WINDOW_PAGES, snapshotBytesHeld, type SnapshotLease, type SnapshotSource } from '../../src/modules/realtime/snapshot';

/**
 * Snapshots read a page at a time from a SnapshotSource, over a directory held in memory that changes
 * between the statements of a read (as other transactions commit between them on a real database):
 * what the pages hold, what a subscriber makes of them and of the log after their revision, what is
 * shared between subscribers and what the process holds meanwhile.
 */

interface LogEntry {
  revision: number;
  code: string;
  /** The goods after the change; null for a removal. */
  goods: GoodsView | null;
}

/** A directory as the database has it: goods rows by id, its revision, and its log of changes. */
class Directory {
  readonly rows = new Map<number, GoodsView>();
  readonly log: LogEntry[] = [];
  revision = 0;
  nextId = 1;
  /** Statements the source ran (start and goods reads). */
  statements = 0;
  /** Run before each goods read: the changes other transactions commit meanwhile. */
  between: () => void = () => undefined;

  byCode(code: string): GoodsView | undefined {
    for (const row of this.rows.values()) if (row.code === code) return row;
    return undefined;
  }

  /** A scan: the goods is created (a new id) when the code has none, else its count changes. */
  scan(code: string, qty = 1): void {
    const current = this.byCode(code);
    const goods = current ? { ...current, count: current.count + qty } : { id: this.nextId++, code, name: '', remarks: '', count: qty };
    this.rows.set(goods.id, goods);
    this.log.push({ revision: ++this.revision, code, goods: { ...goods } });
  }

  remove(code: string): void {
    const current = this.byCode(code);
    if (!current) return;
    this.rows.delete(current.id);
    this.log.push({ revision: ++this.revision, code, goods: null });
  }

  state(): Map<string, GoodsView> {
    return new Map([...this.rows.values()].map((g) => [g.code, { ...g }]));
  }

  source(): SnapshotSource {
    return {
      start: async () => {
        this.statements += 1;
        const ids = [...this.rows.keys()];
        return { revision: this.revision, maxGoodsId: ids.length > 0 ? Math.max(...ids) : null };
      },
      goods: async (afterId, upToId, limit) => {
        this.between();
        this.statements += 1;
        return [...this.rows.values()]
          .filter((g) => g.id > afterId && g.id <= upToId)
          .sort((a, b) => a.id - b.id)
          .slice(0, limit)
          .map((g) => ({ ...g }));
      },
    };
  }
}

interface Page {
  revision: number;
  page: number;
  last: boolean;
  goods: GoodsView[];
  bytes: number;
}

/** Every page of a lease, in order, then the lease released. */
async function readAll(lease: SnapshotLease): Promise<Page[]> {
  const pages: Page[] = [];
  try {
    for (let frame = await lease.next(); frame !== null; frame = await lease.next()) pages.push({ ...JSON.parse(frame.toString('utf8')), bytes: frame.length });
  } finally {
    lease.release();
  }
  return pages;
}

/** What a subscriber makes of the pages and of the log after their revision. */
function replay(pages: Page[], log: LogEntry[]): Map<string, GoodsView> {
  const goods = new Map(pages.flatMap((p) => p.goods).map((g) => [g.code, g]));
  for (const entry of log.filter((e) => e.revision > pages[0].revision)) {
    if (entry.goods) goods.set(entry.code, entry.goods);
    else goods.delete(entry.code);
  }
  return goods;
}

function expectWellFormed(pages: Page[], revision: number): void {
  expect(pages.map((p) => p.page)).toEqual(pages.map((_, i) => i));
  expect(pages.map((p) => p.last)).toEqual(pages.map((_, i) => i === pages.length - 1));
  expect(pages.every((p) => p.revision === revision)).toBe(true);
  expect(pages.every((p) => p.bytes <= SNAPSHOT_PAGE_BYTES)).toBe(true);
  expect(pages.slice(0, -1).every((p) => p.goods.length > 0)).toBe(true);
  const codes = pages.flatMap((p) => p.goods.map((g) => g.code));
  expect(new Set(codes).size).toBe(codes.length);
}

/** A code of about `size` bytes. */
const code = (n: number, size: number) => `${n}:`.padEnd(size, 'x');

function filled(count: number, size: (i: number) => number): Directory {
  const directory = new Directory();
  for (let i = 0; i < count; i++) directory.scan(code(i, size(i)), i + 1);
  return directory;
}

afterEach(() => expect(snapshotBytesHeld()).toBe(0));

describe('a snapshot read a page at a time', () => {
  it('is the directory at its revision when nothing changes: every goods once, in id order, pages within the bound', async () => {
    const directory = filled(300, (i) => [10, 2000, 7000][i % 3]);
    const lease = await new SharedSnapshots().acquire(1, directory.revision, 1000, directory.source());
    const pages = await readAll(lease);
    expectWellFormed(pages, directory.revision);
    expect(pages.length).toBeGreaterThan(10);
    expect(pages.flatMap((p) => p.goods)).toEqual([...directory.rows.values()]);
  });

  it('is one empty page for an empty directory', async () => {
    const directory = new Directory();
    const pages = await readAll(await new SharedSnapshots().acquire(1, 0, 1000, directory.source()));
    expect(pages.map(({ page, last, goods }) => ({ page, last, goods }))).toEqual([{ page: 0, last: true, goods: [] }]);
  });

  it('with the changes after its revision, is the directory exactly, whatever changes between its statements', async () => {
    const op = fc.record({ kind: fc.constantFrom('scan', 'scan', 'remove', 'rescan'), pick: fc.nat(), qty: fc.integer({ min: -3, max: 5 }) });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 80 }),
        fc.array(fc.constantFrom(8, 900, 7089 * 3), { minLength: 1, maxLength: 5 }),
        fc.array(fc.array(op, { maxLength: 4 }), { maxLength: 60 }),
        async (count, sizes, rounds) => {
          const directory = filled(count, (i) => sizes[i % sizes.length]);
          let round = 0;
          let fresh = count;
          directory.between = () => {
            for (const { kind, pick, qty } of rounds[round++] ?? []) {
              const codes = [...directory.rows.values()].map((g) => g.code);
              const known = codes[pick % Math.max(codes.length, 1)];
              if (kind === 'scan') directory.scan(pick % 3 === 0 || !known ? code(fresh++, 20) : known, qty);
              else if (kind === 'remove' && known) directory.remove(known);
              else if (kind === 'rescan' && known) {
                // Removed and scanned again: a new row (a new id) under the same code.
                directory.remove(known);
                directory.scan(known, qty);
              }
            }
          };
          const lease = await new SharedSnapshots().acquire(1, directory.revision, 1000, directory.source());
          const revision = lease.revision;
          const pages = await readAll(lease);
          expectWellFormed(pages, revision);
          expect(replay(pages, directory.log)).toEqual(directory.state());
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('snapshots shared between subscribers', () => {
  it('reads each page once for subscribers that join before its first pages are gone, and holds only its window meanwhile', async () => {
    const directory = filled(200, () => 7000);
    const snapshots = new SharedSnapshots();
    const crowd = await Promise.all(Array.from({ length: 5 }, () => snapshots.acquire(1, directory.revision, 1000, directory.source())));
    const alone = await readAll(await new SharedSnapshots().acquire(1, directory.revision, 1000, filled(200, () => 7000).source()));
    directory.statements = 0;
    // In step, a page each in turn.
    const pages: Page[][] = crowd.map(() => []);
    for (let done = false; !done; ) {
      for (const [i, lease] of crowd.entries()) {
        const frame = await lease.next();
        if (frame === null) done = true;
        else pages[i].push({ ...JSON.parse(frame.toString('utf8')), bytes: frame.length });
        expect(snapshotBytesHeld()).toBeLessThanOrEqual((SNAPSHOT_WINDOW_PAGES + 2) * SNAPSHOT_PAGE_BYTES);
      }
    }
    crowd.forEach((lease) => lease.release());
    for (const own of pages) expect(own).toEqual(alone);
    // One read for the five: no more statements than one subscriber alone makes.
    expect(directory.statements).toBeLessThanOrEqual(alone.length * 2);
  });

  it('lets a subscriber fall behind on its own: it reads on by itself at the same revision, and the one ahead is not held back', async () => {
    const directory = filled(120, () => 7000);
    const snapshots = new SharedSnapshots();
    const [fast, slow] = await Promise.all([snapshots.acquire(1, directory.revision, 1000, directory.source()), snapshots.acquire(1, directory.revision, 1000, directory.source())]);
    const first = (await slow.next()) as Buffer;
    const ahead = await readAll(fast);
    expect(snapshotBytesHeld()).toBe(0); // the slow one holds nothing of its own while it waits
    // Changes before the slow one reads on: its pages and the log after the revision still make the directory.
    directory.scan(code(5, 7000), 4);
    directory.remove(code(100, 7000));
    directory.scan('new', 1);
    const behind = [{ ...JSON.parse(first.toString('utf8')), bytes: first.length }, ...(await readAll(slow))];
    expectWellFormed(behind, slow.revision);
    expect(behind.length).toBeGreaterThan(SNAPSHOT_WINDOW_PAGES);
    expect(replay(behind, directory.log)).toEqual(directory.state());
    expect(replay(ahead, directory.log)).toEqual(directory.state());
  });

  it('starts a new read for a subscriber that comes once the first pages are gone, or too far behind the directory', async () => {
    const directory = filled(60, () => 7000);
    const snapshots = new SharedSnapshots();
    const first = await snapshots.acquire(1, directory.revision, 1000, directory.source());
    for (let i = 0; i < SNAPSHOT_WINDOW_PAGES + 1; i++) await first.next();
    const late = await snapshots.acquire(1, directory.revision, 1000, directory.source());
    const pages = await readAll(late);
    expect(pages[0].page).toBe(0);
    expect(pages.flatMap((p) => p.goods)).toEqual([...directory.rows.values()]);
    first.release();

    const early = await snapshots.acquire(1, directory.revision, 1000, directory.source());
    for (let i = 0; i < 5; i++) directory.scan(code(i, 7000));
    const behind = await snapshots.acquire(1, directory.revision, 3, directory.source());
    expect(behind.revision).toBe(directory.revision);
    expect(early.revision).toBe(directory.revision - 5);
    early.release();
    behind.release();
  });

  it('is read again after a failed start, which nobody joins', async () => {
    const directory = filled(3, () => 10);
    const snapshots = new SharedSnapshots();
    const failing: SnapshotSource = { start: () => Promise.reject(new Error('database gone')), goods: () => Promise.resolve([]) };
    await expect(snapshots.acquire(1, 3, 1000, failing)).rejects.toThrow('database gone');
    const pages = await readAll(await snapshots.acquire(1, 3, 1000, directory.source()));
    expect(pages.flatMap((p) => p.goods)).toHaveLength(3);
  });
});
