import type { ErrorBody, Role, ScanRequest } from '../../client/src';
import { call, createDirectory, expectStatus, login } from './api';
import { checkStocktake, type CountReport, type StocktakeRun } from './stocktake-checks';
import { Counter, type PlannedLine } from './counting';
import type { SimulateOptions } from './options';
import { Phone, pick, sleep, type SimUser, type Tally } from './phone';
import type { Scenario } from './run';
import { serverDirectory } from './checks';

/**
 * `--scenario=stocktake`: a shop's owner has a directory of 1,000 goods (set up with two /api/sync
 * batches); three editors, each a user on a phone of their own, count it into one count session while
 * the owner's phone keeps scanning in and out. The counters' shelves overlap (one code in ten is counted
 * on two phones, which add up), some lines are corrections (negative, or a forgotten one), a few codes
 * are not goods yet, a few goods nobody counts. counter-3 is offline for a third of the counting and
 * then delivers what it counted over HTTP with the same event ids, a share of them twice. Once every
 * line is answered, counter-2 (not the starter) is refused the finish, counter-1 (who started it)
 * finishes it, while the owner scans on. The checks: stocktake-checks.ts.
 */

const GOODS = 1_000;
const SYNC_BATCH = 500;
const code = (i: number) => `ST-${String(i).padStart(4, '0')}`;
/** The owner scans these codes, before and after the finish: 40 that are counted, and 2 that nobody counts. */
const OWNER_CODES = [...Array.from({ length: 40 }, (_, i) => code(i * 7)), code(5), code(102)];
const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

interface Person {
  label: 'owner' | 'counter-1' | 'counter-2' | 'counter-3';
  role: Role;
  user: SimUser;
  phone: Phone;
}

/** What counter k counts: its third of the shelves, one code in ten of the next phone's, corrections, three new codes. */
function planLines(k: number, phone: Phone, windowMs: number): PlannedLine[] {
  const bases: { code: string; qty: number }[] = [];
  for (let i = 0; i < GOODS; i++) {
    if (i % 97 === 5) continue; // nobody counts these: the finish leaves them as they are
    if (i % 3 === k) bases.push({ code: code(i), qty: randomInt(1, 25) });
    else if (i % 10 === 0 && (i + 1) % 3 === k) bases.push({ code: code(i), qty: randomInt(1, 5) }); // found on a second shelf
  }
  for (let j = 0; j < 3; j++) bases.push({ code: `ST-NEW-${k}-${j}`, qty: randomInt(1, 9) });
  const lines: PlannedLine[] = [];
  let n = 0;
  const eventId = () => `${phone.name}:line:${n++}`;
  for (const [index, base] of bases.entries()) {
    const dueMs = (index / bases.length) * windowMs;
    const line: PlannedLine = { eventId: eventId(), code: base.code, qty: base.qty, dueMs };
    lines.push(line);
    if (Math.random() < 0.06) {
      // A miscount put right: less than the line (so the phone's share stays above 0), or one more.
      const qty = base.qty >= 2 && Math.random() < 0.75 ? -randomInt(1, base.qty - 1) : 1;
      lines.push({ eventId: eventId(), code: base.code, qty, dueMs: dueMs + 0.05 * windowMs, corrects: line.eventId });
    }
  }
  return lines.sort((a, b) => a.dueMs - b.dueMs);
}

async function setUpGoods(baseUrl: string, owner: SimUser, directoryId: number, run: string): Promise<Map<string, { count: number; name: string }>> {
  const initial = new Map<string, { count: number; name: string }>();
  for (let from = 0; from < GOODS; from += SYNC_BATCH) {
    const events = Array.from({ length: Math.min(SYNC_BATCH, GOODS - from) }, (_, j) => {
      const i = from + j;
      const goods = { count: randomInt(0, 30), name: `货品 ${i}` };
      initial.set(code(i), goods);
      return { eventId: `sim-${run}-setup-${i}`, directoryId, op: 'set' as const, code: code(i), qty: goods.count, name: goods.name };
    });
    const { results } = await expectStatus<{ results: { eventId: string; ok: boolean; error?: ErrorBody }[] }>(200, baseUrl, 'POST', '/api/sync', owner.token, { events });
    const refused = results.filter((result) => !result.ok);
    if (refused.length > 0) throw new Error(`setting up the goods: ${refused.length} refused, e.g. ${JSON.stringify(refused[0])}`);
  }
  return initial;
}

export async function stocktakeScenario(options: SimulateOptions, tally: Tally): Promise<Scenario> {
  const run = Date.now().toString(36);
  const baseUrl = options.urls[0];
  const people: Person[] = [];
  let directoryId = 0;
  for (const [index, label] of (['owner', 'counter-1', 'counter-2', 'counter-3'] as const).entries()) {
    const user: SimUser = { name: `sim-${run}-${label}`, directories: [], token: '' };
    user.token = (await login(baseUrl, `${user.name}#checks`)).token;
    const role: Role = label === 'owner' ? 'owner' : 'editor';
    if (label === 'owner') {
      directoryId = await createDirectory(baseUrl, user.token, `stocktake ${run}`);
    } else {
      const { invite } = await expectStatus<{ invite: { qr: string } }>(201, baseUrl, 'POST', `/api/directories/${directoryId}/invites`, people[0].user.token, { role, maxUses: 1 });
      await expectStatus(200, baseUrl, 'POST', `/api/invites/${invite.qr.replace(/^scancode:join:/, '')}/accept`, user.token);
    }
    user.directories.push(directoryId);
    people.push({ label, role, user, phone: new Phone(user, `sim-${run}-${label}-phone`, tally, options.urls, index) });
  }
  const [owner, starter, other, offline] = people;
  const initial = await setUpGoods(baseUrl, owner.user, directoryId, run);
  for (const person of people) await person.phone.start();

  const durationMs = options.duration * 1000;
  const counters = people.slice(1).map((person, k) => new Counter(person.phone, planLines(k, person.phone, 0.5 * durationMs), baseUrl));
  const [, , late] = counters;
  const finishId = `sim-${run}-finish`;
  const state: StocktakeRun = {
    baseUrl,
    directoryId,
    owner: owner.user,
    initial,
    counters,
    finishId,
    countId: null,
    before: null,
    finish: null,
    finishAgain: null,
    refusals: {},
    finishedAt: null,
    error: null,
  };

  const refusal = async (person: Person, path: string, body: unknown) => {
    const answer = await call<{ error?: ErrorBody }>(baseUrl, 'POST', path, person.user.token, body);
    return { status: answer.status, error: answer.body?.error ?? null };
  };

  /** The count from start to finish, beside the owner's scanning. */
  const script = async (began: number) => {
    const started = await expectStatus<{ count: { id: number } }>(201, baseUrl, 'POST', `/api/directories/${directoryId}/counts`, starter.user.token, {
      name: `盘点 ${run}`,
      eventId: `sim-${run}-start`,
    });
    const countId = started.count.id;
    state.countId = countId;
    const spell = (async () => {
      // counter-3 goes offline for a third of the counting; what it counts meanwhile waits on the phone.
      await sleep(Math.max(0, began + 0.15 * durationMs - performance.now()));
      offline.phone.network.mode = 'down';
      offline.phone.network.drop();
      late.httpOnly = true;
      await sleep(Math.max(0, began + 0.45 * durationMs - performance.now()));
      offline.phone.network.mode = 'up';
      offline.phone.client?.reconnectNow();
    })();
    await Promise.all([...counters.map((counter) => counter.deliver(countId, began)), spell]);
    // The lines counter-3 counted offline, a third of them sent again over HTTP, a few of counter-1's over the socket.
    const offlineLines = late.plan.filter((line) => line.dueMs >= 0.15 * durationMs && line.dueMs < 0.45 * durationMs);
    await late.resend(
      countId,
      offlineLines.filter((_, i) => i % 3 === 0),
      true,
    );
    late.httpOnly = false;
    await counters[0].resend(
      countId,
      counters[0].plan.filter((_, i) => i % 25 === 0),
      false,
    );

    await sleep(Math.max(0, began + 0.7 * durationMs - performance.now()));
    state.before = await expectStatus<CountReport>(200, baseUrl, 'GET', `/api/counts/${countId}`, owner.user.token);
    state.refusals.otherFinish = await refusal(other, `/api/counts/${countId}/finish`, {});
    state.finish = await expectStatus<CountReport & { duplicate?: true }>(200, baseUrl, 'POST', `/api/counts/${countId}/finish`, starter.user.token, { eventId: finishId });
    state.finishedAt = performance.now();
    state.finishAgain = await expectStatus<CountReport & { duplicate?: true }>(200, baseUrl, 'POST', `/api/counts/${countId}/finish`, starter.user.token, { eventId: finishId });
    state.refusals.secondFinish = await refusal(starter, `/api/counts/${countId}/finish`, {});
    state.refusals.lateLine = await refusal(other, `/api/counts/${countId}/lines`, { code: code(1), qty: 1 });
  };
  let scripted: Promise<void> | null = null;

  const madeAfterFinish = () => (state.finishedAt === null ? 0 : [...tally.made.values()].filter((made) => made.at > (state.finishedAt as number)).length);

  const ownerScan = (): ScanRequest => {
    const scanned = pick(OWNER_CODES);
    return Math.random() < 0.65 ? { directoryId, op: 'in', code: scanned, qty: randomInt(1, 3) } : { directoryId, op: 'out', code: scanned, qty: randomInt(1, 2) };
  };

  return {
    title: `a stocktake of ${GOODS.toLocaleString('en-US')} goods: 3 editors' phones count (counter-3 offline for a while), the owner's phone scans in and out`,
    phones: people.map((person) => person.phone),
    // counter-3's offline spell is scripted; the others are disrupted at random.
    disrupted: [owner.phone, starter.phone, other.phone],

    nextScan() {
      return owner.phone.client === null ? null : { phone: owner.phone, scan: ownerScan() };
    },

    // The owner scans on until ten scans after the finish, however long the counting takes (a killed app makes none meanwhile).
    scanning: () => state.error === null && (state.finishedAt === null || madeAfterFinish() < 10),

    during() {
      scripted ??= script(performance.now()).catch((error: unknown) => void (state.error = error instanceof Error ? error.message : String(error)));
    },

    async unsettled() {
      const missing: string[] = [];
      const open = counters.reduce((sum, counter) => sum + counter.unanswered(), 0);
      if (open > 0) missing.push(`${open} count lines unanswered`);
      else if (state.finish === null && state.error === null) missing.push('the count is not finished yet');
      const { revision } = await serverDirectory(baseUrl, owner.user, directoryId);
      for (const { phone } of people) {
        const view = phone.client?.view(directoryId);
        if (!view || !view.synced || view.revision !== revision) {
          const { status, lastClose } = phone.client?.connectivity ?? { status: 'not running', lastClose: null };
          missing.push(
            `${phone.name} at revision ${view?.revision ?? 'none'} of ${revision} (${status}${lastClose ? `, last close ${lastClose.code} ${lastClose.reason}` : ''}${view?.lost ? `, lost: ${view.lost}` : ''})`,
          );
        }
      }
      const pending = owner.phone.client?.pending().length ?? 0;
      if (pending > 0) missing.push(`${owner.phone.name} has ${pending} scans unanswered`);
      return missing;
    },

    check: async (all) => {
      await scripted;
      return checkStocktake(
        state,
        people.map((person) => person.phone),
        all,
      );
    },

    passed:
      "the variance report (before and as of the finish) equals the acknowledged lines' totals and the live counts; the finish is one run of consecutive revisions; " +
      "every counted code's count is its counted total plus the owner's acked deltas after the finish, every other code its set-up count plus all of them; each line applied once (resends answered duplicate, the first outcome); " +
      "counter-2's finish forbidden, a second finish and a late line count_closed; every phone at the final revision with the server's counts",

    lines() {
      const lines = counters.map((counter, k) => {
        const records = [...counter.records.values()];
        const duplicates = records.reduce((sum, record) => sum + record.duplicates, 0);
        const sends = records.reduce((sum, record) => sum + record.sends, 0);
        return `  counter-${k + 1}    ${counter.plan.length} lines (${counter.plan.filter((line) => line.corrects).length} corrections), ${sends} sends (${counter.via.socket} socket, ${counter.via.http} HTTP), ${counter.lost} unanswered and sent again, ${duplicates} answered duplicate; ${counter.phone.pushes.count} count pushes`;
      });
      const afterFinish = madeAfterFinish();
      lines.push(
        `  owner        ${tally.made.size} scans, ${afterFinish} made after the finish; ${owner.phone.pushes.count} count pushes, ${people.reduce((sum, person) => sum + person.phone.pushes.alert, 0)} alerts over the phones`,
      );
      if (state.finish) lines.push(`  finish       ${state.finish.lines.length} codes counted, ${state.finish.lines.filter((line) => line.variance !== 0).length} with a variance`);
      return lines;
    },
  };
}
