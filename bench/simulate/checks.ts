import { get } from './api';
import type { Phone, SimUser, Tally } from './phone';

/**
 * The end of a run: what the server holds, compared with what every phone shows and with every answer
 * the phones received. Each disagreement is a line of the report; none means the run passed.
 */

interface ServerDirectory {
  revision: number;
  counts: Record<string, number>;
}

export async function serverDirectory(baseUrl: string, user: SimUser, directoryId: number): Promise<ServerDirectory> {
  const body = await get<{ directory: { revision: number }; goods: { code: string; count: number }[] }>(baseUrl, `/api/directories/${directoryId}`, user.token);
  return { revision: body.directory.revision, counts: Object.fromEntries(body.goods.map((goods) => [goods.code, goods.count])) };
}

/** Every entry with an event id that the directory's log holds, newest first (repeats kept: there must be none). */
export async function loggedEvents(baseUrl: string, user: SimUser, directoryId: number): Promise<{ eventId: string; userId: number; revision: number }[]> {
  const entries: { eventId: string; userId: number; revision: number }[] = [];
  let before: number | null = null;
  do {
    const page: { logs: { eventId: string | null; userId: number; revision: number }[]; next: number | null } = await get(
      baseUrl,
      `/api/directories/${directoryId}/logs?limit=200${before === null ? '' : `&before=${before}`}`,
      user.token,
    );
    for (const { eventId, userId, revision } of page.logs) if (eventId !== null) entries.push({ eventId, userId, revision });
    before = page.next;
  } while (before !== null);
  return entries;
}

/** Has every phone sent everything and caught up with the server? (What is still missing, or nothing.) */
export async function unsettled(baseUrl: string, users: SimUser[], phones: Phone[]): Promise<string[]> {
  const missing: string[] = [];
  for (const user of users) {
    for (const directoryId of user.directories) {
      const { revision } = await serverDirectory(baseUrl, user, directoryId);
      for (const phone of phones.filter((each) => each.user === user)) {
        const view = phone.client?.view(directoryId);
        if (!view || !view.synced || view.revision !== revision) missing.push(`${phone.name} directory ${directoryId} at revision ${view?.revision ?? 'none'} of ${revision}`);
      }
    }
  }
  for (const phone of phones) {
    const pending = phone.client?.pending().length ?? 0;
    if (pending > 0) missing.push(`${phone.name} has ${pending} scans unanswered`);
  }
  return missing;
}

export const differences = (a: Record<string, number>, b: Record<string, number>) =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((code) => (a[code] ?? 0) !== (b[code] ?? 0) || code in a !== code in b).map((code) => `${code}: ${a[code]} vs ${b[code]}`);

/** Scans the SDK answered twice, or never. */
export function answeredOnce(tally: Tally): string[] {
  const problems: string[] = [];
  if (tally.settledTwice.length > 0) problems.push(`answered twice to the app: ${tally.settledTwice.slice(0, 5).join(', ')}`);
  const unanswered = [...tally.made.keys()].filter((id) => !tally.applied.has(id) && !tally.refused.has(id));
  if (unanswered.length > 0) problems.push(`${unanswered.length} scans never answered: ${unanswered.slice(0, 5).join(', ')}`);
  return problems;
}

/**
 * One directory against what the phones were told: the phones' views equal the server's counts, the
 * acked deltas add up to them (nothing applied twice or unseen), the log has each applied scan once
 * and nothing else of ours. Returns the disagreements and the event ids applied there.
 */
export async function checkDirectory(baseUrl: string, reader: SimUser, directoryId: number, watchers: Phone[], tally: Tally): Promise<{ problems: string[]; applied: Set<string> }> {
  const problems: string[] = [];
  const server = await serverDirectory(baseUrl, reader, directoryId);
  for (const phone of watchers) {
    const counts = phone.client?.counts(directoryId) ?? {};
    const wrong = differences(counts, server.counts);
    if (wrong.length > 0) problems.push(`${phone.name}'s view of directory ${directoryId} differs from the server: ${wrong.slice(0, 5).join('; ')}`);
  }
  const sums: Record<string, number> = {};
  const applied = new Set<string>();
  for (const [eventId, result] of tally.applied) {
    if (tally.made.get(eventId)?.directoryId !== directoryId) continue;
    applied.add(eventId);
    sums[result.goods.code] = (sums[result.goods.code] ?? 0) + result.delta;
  }
  const wrongSums = differences(sums, server.counts);
  if (wrongSums.length > 0) problems.push(`directory ${directoryId}: acked deltas do not add up to the server's counts: ${wrongSums.slice(0, 5).join('; ')}`);
  const logged = await loggedEvents(baseUrl, reader, directoryId);
  const seen = new Set<string>();
  for (const { eventId: id } of logged) {
    if (seen.has(id)) problems.push(`directory ${directoryId}: event ${id} is in the log twice`);
    seen.add(id);
    if (!applied.has(id)) problems.push(`directory ${directoryId}: event ${id} is in the log but was not acked as applied`);
  }
  for (const id of applied) if (!seen.has(id)) problems.push(`directory ${directoryId}: event ${id} was acked but is not in the log`);
  return { problems, applied };
}

/** Every check of a solo run; returns the disagreements. */
export async function check(baseUrl: string, users: SimUser[], phones: Phone[], tally: Tally): Promise<string[]> {
  const problems = answeredOnce(tally);
  for (const [eventId, error] of tally.refused) {
    if (error.code !== 'insufficient_stock' && error.code !== 'goods_not_found') problems.push(`${eventId} refused with ${error.code}: ${error.message}`);
  }
  for (const user of users) {
    for (const directoryId of user.directories) {
      const watchers = phones.filter((each) => each.user === user);
      problems.push(...(await checkDirectory(baseUrl, user, directoryId, watchers, tally)).problems);
    }
  }
  return problems;
}
