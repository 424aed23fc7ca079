import type { CountFrame, CountLine, CountReport, CountSession, ErrorBody, Goods } from './contract';

/** One code of a count session as the app shows it. */
export interface CountViewLine {
  code: string;
  /** The goods' name in the directory ('' for a code that is not a goods yet). */
  name: string;
  /** The counted total of every phone, as the server has it. */
  counted: number;
  /** The goods' live count (0 for a code that is not a goods yet); frozen once the count is closed. */
  expected: number;
  /** counted − expected. */
  variance: number;
  /** What this phone counted of the code and the server has not answered yet (already in no total). */
  pending: number;
}

/** What the app renders for a count session. */
export interface CountViewState {
  countId: number;
  /** The session (its directory, name, status...); null until the first read has answered. */
  count: CountSession | null;
  /** `loading` until the first read has answered, then the session's status. */
  status: 'loading' | CountSession['status'];
  /** The counted codes, in the order they were first counted (then this phone's pending ones). */
  lines: CountViewLine[];
  /** The view has been read since the socket last came online: nothing was missed. */
  synced: boolean;
  /** Why the last read failed (`directory_not_found` for a count that is not the user's); null otherwise. */
  error: ErrorBody | null;
}

/**
 * A live copy of one count session: read whole (`getCount`) when opened and at each reconnection,
 * then moved by every `count` push of its directory (a phone's line, the session finished or
 * cancelled), and by the directory's changes while it is open (the goods' live counts, its
 * `expected`). A line carries totals, never increments, so a push applied twice changes nothing.
 */
export class CountView {
  count: CountSession | null = null;
  synced = false;
  error: ErrorBody | null = null;
  /** While a read is on its way: the pushes that came meanwhile, applied over its answer. */
  reading: CountFrame[] | null = null;
  private lines = new Map<string, CountViewLine>();

  constructor(readonly countId: number) {}

  get directoryId(): number | null {
    return this.count?.directoryId ?? null;
  }

  /** A read's answer, then the pushes that came while it was on its way (later than or as new as it). */
  load(report: CountReport, meanwhile: CountFrame[]): void {
    this.count = report.count;
    this.lines = new Map(report.lines.map((line) => [line.code, { ...line, pending: 0 }]));
    this.synced = true;
    this.error = null;
    for (const frame of meanwhile) this.apply(frame);
  }

  apply(frame: CountFrame): void {
    if (frame.count) this.count = frame.count;
    if (frame.line) this.applyLine(frame.line);
  }

  /** Replaces the lines by a finish's report: the counts as they were just before the finish set them. */
  finished(report: CountReport): void {
    this.load(report, []);
  }

  /** The codes counted so far. */
  codes(): string[] {
    return [...this.lines.keys()];
  }

  /** A goods of the directory changed (null: it is gone): its live count is the line's `expected` while the count is open. */
  goodsChanged(code: string, goods: Goods | null): void {
    const line = this.lines.get(code);
    if (!line || this.count?.status !== 'open') return;
    line.expected = goods?.count ?? 0;
    line.variance = line.counted - line.expected;
    if (goods) line.name = goods.name;
  }

  /**
   * The copy with this phone's unanswered lines (`pending`: code and qty, in the order made) shown
   * beside it; `nameOf` names a code that a push brought without its name (from the directory's view).
   */
  state(pending: Array<{ code: string; qty: number }>, nameOf: (code: string) => string): CountViewState {
    const lines = new Map<string, CountViewLine>();
    for (const [code, line] of this.lines) lines.set(code, { ...line, name: line.name || nameOf(code) });
    for (const { code, qty } of pending) {
      let line = lines.get(code);
      if (!line) lines.set(code, (line = { code, name: nameOf(code), counted: 0, expected: 0, variance: 0, pending: 0 }));
      line.pending += qty;
    }
    return { countId: this.countId, count: this.count, status: this.count?.status ?? 'loading', lines: [...lines.values()], synced: this.synced, error: this.error };
  }

  private applyLine({ code, counted, expected }: CountLine): void {
    const known = this.lines.get(code);
    // Once closed the report stays as it was: a late line push cannot be one (the server refuses lines then).
    if (known && this.count && this.count.status !== 'open') return;
    this.lines.set(code, { code, name: known?.name ?? '', counted, expected, variance: counted - expected, pending: 0 });
  }
}
