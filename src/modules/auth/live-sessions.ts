import { setTimeout as sleep } from 'node:timers/promises';
import type { Em } from '../../db/orm';
import { Session } from './entities';

/** 2^23 bits (1 MiB) and 5 probes: about 1 false "may be live" in 1,000 at 500,000 live sessions. */
const BITS = 2 ** 23;
const PROBES = 5;
/** Sessions read per statement. */
const PAGE = 10_000;
/** Reads of new sessions, however many tokens miss, at most one this often. */
const READ_GAP_MS = 1_000;
/** Revoked and expired sessions stay in the filter (each costs a lookup) until it is rebuilt. */
const REBUILD_MS = 60 * 60_000;

/** The token hashes of live sessions whose id is above `afterId`, in id order. */
async function liveSessionsAfter(em: Em, afterId: number, now: Date): Promise<{ id: number; tokenHash: string }[]> {
  return em
    .createQueryBuilder(Session)
    .select(['id', 'tokenHash'])
    .where({ id: { $gt: afterId }, revokedAt: null, expiresAt: { $gt: now } })
    .orderBy({ id: 'asc' })
    .limit(PAGE)
    .execute<{ id: number; tokenHash: string }[]>('all');
}

class BloomFilter {
  private readonly bits = new Uint8Array(BITS / 8);

  /** The token hash is SHA-256 in hex, already uniform: its first PROBES × 6 digits are the probes. */
  private *probes(tokenHash: string): Generator<number> {
    for (let i = 0; i < PROBES; i++) yield parseInt(tokenHash.slice(i * 6, i * 6 + 6), 16) % BITS;
  }

  add(tokenHash: string): void {
    for (const bit of this.probes(tokenHash)) this.bits[bit >> 3] |= 1 << (bit & 7);
  }

  has(tokenHash: string): boolean {
    for (const bit of this.probes(tokenHash)) if ((this.bits[bit >> 3] & (1 << (bit & 7))) === 0) return false;
    return true;
  }
}

/**
 * Which tokens may belong to a live session, known without looking the token up: a Bloom filter of
 * every live session's token hash, in bounded memory, read from the database on first need and kept
 * current by reading the sessions created since. It can say "may be live" of a guessed token (then the
 * token is looked up as usual), never "not live" of a live one: a token it does not know sets off a
 * read of the newest sessions (a login on another instance a moment ago), shared by every token that
 * misses meanwhile and at most one a second, so that guessing costs the database one read a second at
 * most, whatever the number of guesses.
 */
export class LiveSessions {
  private filter = new BloomFilter();
  private builtAt = -Infinity;
  private building: Promise<void> | null = null;
  /** Highest session id read so far, and where the next read starts (see read()). */
  private highestId = 0;
  private floor = 0;
  private running: Promise<void> = Promise.resolve();
  private queued: Promise<void> | null = null;
  private lastReadAt = -Infinity;

  constructor(private readonly now: () => number) {}

  /** False only when no live session has this token hash. A database that cannot answer says "may be". */
  async mayBeLive(tokenHash: string, em: Em): Promise<boolean> {
    try {
      if (this.builtAt + REBUILD_MS <= this.now()) await this.rebuild(em);
      if (this.filter.has(tokenHash)) return true;
      await this.readNewer(em);
      return this.filter.has(tokenHash);
    } catch {
      return true;
    }
  }

  private rebuild(em: Em): Promise<void> {
    this.building ??= (async () => {
      const fresh = new BloomFilter();
      const startedAt = this.now();
      let highest = 0;
      for (let page = await liveSessionsAfter(em.fork(), 0, new Date(startedAt)); page.length > 0; ) {
        for (const row of page) fresh.add(row.tokenHash);
        highest = page[page.length - 1].id;
        page = page.length < PAGE ? [] : await liveSessionsAfter(em.fork(), highest, new Date(this.now()));
      }
      this.filter = fresh;
      this.builtAt = startedAt;
      this.highestId = this.floor = highest;
    })().finally(() => (this.building = null));
    return this.building;
  }

  /**
   * Reads the sessions created since, in a read that starts after the caller arrived (one already
   * running may have begun before the caller's session was committed). Ids are handed out before
   * commit, so one may become visible after a higher one: each read starts from the highest id seen
   * before the previous read, reading every new id twice, a second or more apart.
   */
  private readNewer(em: Em): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.running.then(async () => {
      this.queued = null;
      const wait = this.lastReadAt + READ_GAP_MS - this.now();
      if (wait > 0) await sleep(wait);
      this.lastReadAt = this.now();
      const before = this.highestId;
      for (let after = this.floor; ; ) {
        const page = await liveSessionsAfter(em.fork(), after, new Date(this.now()));
        for (const row of page) this.filter.add(row.tokenHash);
        if (page.length > 0) after = this.highestId = Math.max(this.highestId, page[page.length - 1].id);
        if (page.length < PAGE) break;
      }
      this.floor = before;
    });
    this.queued = next;
    this.running = next.catch(() => undefined);
    return next;
  }
}
