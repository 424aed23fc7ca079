import type { ErrorBody } from '../../client/src';
import { get } from './api';
import { answeredOnce, differences, serverDirectory } from './checks';
import { sumOfLines, type Counter } from './counting';
import type { Phone, SimUser, Tally } from './phone';

/**
 * The stocktake's agreement checks, all exact although the owner scans on through the finish:
 * - the variance report read once every line was answered, and the finish's answer, count exactly what
 *   the acknowledged lines add up to (so each line was applied once: a line applied twice, or a resend
 *   applied again, would show in a total);
 * - the finish's `expected` is each code's set-up count plus the owner's acked deltas of revisions
 *   before the finish's; its revisions are consecutive (one transaction), one per code whose count changed;
 * - afterwards every counted code's count is its counted total plus the owner's acked deltas of revisions
 *   after the finish's, every other code its set-up count plus all of them;
 * - every phone's view at the final revision with the server's counts; each scan in the log once.
 */

export interface CountReport {
  count: { id: number; status: string };
  lines: { code: string; name: string; counted: number; expected: number; variance: number }[];
}

type Answer = { status: number; error: ErrorBody | null };

/** What the stocktake scenario saw, for its checks. */
export interface StocktakeRun {
  baseUrl: string;
  directoryId: number;
  owner: SimUser;
  initial: Map<string, { count: number; name: string }>;
  counters: Counter[];
  finishId: string;
  countId: number | null;
  /** The variance report once every line was answered, before the finish. */
  before: CountReport | null;
  finish: (CountReport & { duplicate?: true }) | null;
  finishAgain: (CountReport & { duplicate?: true }) | null;
  refusals: Partial<Record<'otherFinish' | 'secondFinish' | 'lateLine', Answer>>;
  finishedAt: number | null;
  error: string | null;
}

interface Logged {
  revision: number;
  eventId: string | null;
  code: string | null;
  countId?: number;
}

async function allLogs(baseUrl: string, user: SimUser, directoryId: number): Promise<Logged[]> {
  const entries: Logged[] = [];
  let before: number | null = null;
  do {
    const page: { logs: Logged[]; next: number | null } = await get(baseUrl, `/api/directories/${directoryId}/logs?limit=200${before === null ? '' : `&before=${before}`}`, user.token);
    entries.push(...page.logs);
    before = page.next;
  } while (before !== null);
  return entries.reverse();
}

/** The report's counted totals against the lines' (every code, no other). */
function countedDiffer(report: CountReport, totals: Map<string, number>): string[] {
  const counted = Object.fromEntries(report.lines.map((line) => [line.code, line.counted]));
  return differences(counted, Object.fromEntries(totals));
}

function refusedAs(answer: Answer | undefined, status: number, code: string, what: string): string[] {
  if (answer?.status === status && answer.error?.code === code) return [];
  return [`${what}: ${answer ? `${answer.status} ${JSON.stringify(answer.error)}` : 'not tried'}, not ${status} ${code}`];
}

export async function checkStocktake(run: StocktakeRun, phones: Phone[], tally: Tally): Promise<string[]> {
  const problems = answeredOnce(tally);
  if (run.error !== null) problems.push(`the count did not run to its finish: ${run.error}`);
  for (const [eventId, error] of tally.refused) if (error.code !== 'insufficient_stock') problems.push(`the owner's ${eventId} refused with ${error.code}: ${error.message}`);

  // Every line answered, and every resend with the first outcome.
  const totals = sumOfLines(run.counters.flatMap((counter) => counter.plan));
  for (const counter of run.counters) {
    for (const [eventId, record] of counter.records) {
      if (record.refused) problems.push(`line ${eventId} refused with ${record.refused.code}: ${record.refused.message}`);
      else if (!record.first) problems.push(`line ${eventId} never answered`);
      for (const mismatch of record.mismatched.slice(0, 2)) problems.push(`line ${eventId} answered again with ${mismatch}`);
    }
  }
  const duplicates = run.counters.reduce((sum, counter) => sum + [...counter.records.values()].reduce((n, record) => n + record.duplicates, 0), 0);
  if (duplicates === 0) problems.push('no line was answered duplicate: the resends did not happen');

  const { counts: server } = await serverDirectory(run.baseUrl, run.owner, run.directoryId);
  const owners = [...tally.applied.values()];
  const ownerDelta = (code: string, from: number, to: number) =>
    owners.filter((result) => result.goods.code === code && result.revision > from && result.revision < to).reduce((sum, result) => sum + result.delta, 0);

  if (run.before)
    problems.push(
      ...countedDiffer(run.before, totals)
        .slice(0, 5)
        .map((wrong) => `before the finish, counted ${wrong} (report vs lines)`),
    );
  if (run.before)
    for (const line of run.before.lines)
      if (line.variance !== line.counted - line.expected) problems.push(`before the finish, ${line.code}'s variance ${line.variance} is not ${line.counted} − ${line.expected}`);

  // The finish: its revisions, and its report as of them.
  const logs = await allLogs(run.baseUrl, run.owner, run.directoryId);
  const finishing = logs.filter((entry) => entry.countId !== undefined && entry.countId === run.countId);
  const first = finishing[0]?.revision ?? Infinity;
  const last = finishing.at(-1)?.revision ?? -Infinity;
  if (finishing.length === 0) problems.push('the finish changed no count: the run cannot show the finish against the scans');
  else if (last - first + 1 !== finishing.length) problems.push(`the finish's ${finishing.length} revisions are not consecutive (${first}..${last})`);
  if (finishing.some((entry) => entry.eventId !== run.finishId)) problems.push(`a change of the finish is not logged with its event id ${run.finishId}`);
  if (run.finish) {
    if (run.finish.count.status !== 'finished') problems.push(`the finish answered status ${run.finish.count.status}`);
    problems.push(
      ...countedDiffer(run.finish, totals)
        .slice(0, 5)
        .map((wrong) => `as of the finish, counted ${wrong} (report vs lines)`),
    );
    for (const line of run.finish.lines) {
      const expected = (run.initial.get(line.code)?.count ?? 0) + ownerDelta(line.code, 0, first);
      const name = run.initial.get(line.code)?.name ?? '';
      if (line.expected !== expected || line.variance !== line.counted - expected || line.name !== name) {
        problems.push(`as of the finish, ${line.code}: ${JSON.stringify(line)}, not expected ${expected} (set-up count + the owner's deltas before revision ${first}), name ${name}`);
      }
    }
    const changed = run.finish.lines.filter((line) => line.counted !== line.expected).length;
    if (changed !== finishing.length) problems.push(`the finish made ${finishing.length} changes for ${changed} codes whose count differed`);
  } else {
    problems.push('the count was not finished');
  }
  if (run.finishAgain?.duplicate !== true || JSON.stringify(run.finishAgain.lines) !== JSON.stringify(run.finish?.lines))
    problems.push('the finish sent again was not answered duplicate with the same report');
  problems.push(...refusedAs(run.refusals.otherFinish, 403, 'forbidden', "counter-2's finish of counter-1's count"));
  if (run.refusals.otherFinish?.error && (run.refusals.otherFinish.error as { required?: unknown }).required !== 'manager')
    problems.push(`counter-2's finish refused without required: manager (${JSON.stringify(run.refusals.otherFinish.error)})`);
  problems.push(...refusedAs(run.refusals.secondFinish, 409, 'count_closed', 'a second finish'));
  problems.push(...refusedAs(run.refusals.lateLine, 409, 'count_closed', 'a line after the finish'));

  if (run.finish && !owners.some((result) => result.revision > last)) problems.push('no scan of the owner was applied after the finish');

  // The counts now: the counted totals (or the set-up counts) plus what the owner did after.
  const expected: Record<string, number> = {};
  for (const [code, goods] of run.initial) expected[code] = goods.count + ownerDelta(code, 0, Infinity);
  for (const [code, counted] of totals) expected[code] = counted + ownerDelta(code, last, Infinity);
  problems.push(
    ...differences(server, expected)
      .slice(0, 10)
      .map((wrong) => `final count ${wrong} (server vs counted totals and the owner's acked deltas)`),
  );

  // The report after the settling: finished, the same totals, expected now the live counts.
  if (run.countId !== null) {
    const after = await get<CountReport>(run.baseUrl, `/api/counts/${run.countId}`, run.owner.token);
    if (after.count.status !== 'finished') problems.push(`GET /api/counts/${run.countId} says ${after.count.status}`);
    problems.push(
      ...countedDiffer(after, totals)
        .slice(0, 5)
        .map((wrong) => `after the run, counted ${wrong} (report vs lines)`),
    );
    for (const line of after.lines) if (line.expected !== (server[line.code] ?? 0)) problems.push(`after the run, ${line.code} expected ${line.expected}, the live count is ${server[line.code]}`);
  }

  // Every phone at the server's counts; each owner's scan and set-up event in the log once, nothing else.
  for (const phone of phones) {
    const wrong = differences(phone.client?.counts(run.directoryId) ?? {}, server);
    if (wrong.length > 0) problems.push(`${phone.name}'s view differs from the server: ${wrong.slice(0, 5).join('; ')}`);
  }
  const seen = new Map<string, number>();
  for (const entry of logs) if (entry.eventId !== null && entry.eventId !== run.finishId) seen.set(entry.eventId, (seen.get(entry.eventId) ?? 0) + 1);
  for (const [eventId, times] of seen) {
    if (times > 1) problems.push(`${eventId} is in the log ${times} times`);
    if (!tally.applied.has(eventId) && !eventId.includes('-setup-')) problems.push(`${eventId} is in the log but was not acked as applied`);
  }
  for (const eventId of tally.applied.keys()) if (!seen.has(eventId)) problems.push(`${eventId} was acked but is not in the log`);
  return problems;
}
