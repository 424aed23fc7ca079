import type { ErrorBody, Role } from '../../client/src';
import { createDirectory, expectStatus, get, login } from './api';
import { answeredOnce, checkDirectory, loggedEvents, serverDirectory } from './checks';
import type { SimulateOptions } from './options';
import { Phone, type SimUser, type Tally } from './phone';
import type { Scenario } from './run';
import { randomScan } from './solo';

/**
 * `--scenario=team`: a shop's owner, two editors and a viewer, each a user of their own on their own
 * phone, all scanning into the owner's directory; the others joined it by invites the owner created.
 * Half-way through, the owner removes one editor. The checks add what each role may do: the viewer's
 * scans all refused (forbidden), the removed editor's scans made after the removal all refused
 * (directory_not_found) and none applied, every accepted scan applied once (the counts are the sum of
 * the accepted deltas, each in the log once, by the user who made it), every watcher at the final revision.
 */

interface Person {
  label: 'owner' | 'editor-1' | 'editor-2' | 'viewer';
  role: Role;
  user: SimUser;
  userId: number;
  phone: Phone;
}

const PEOPLE = [
  { label: 'owner', role: 'owner' },
  { label: 'editor-1', role: 'editor' },
  { label: 'editor-2', role: 'editor' },
  { label: 'viewer', role: 'viewer' },
] as const;
const REFUSALS_OF_STOCK = new Set(['insufficient_stock', 'goods_not_found']);

export async function teamScenario(options: SimulateOptions, tally: Tally): Promise<Scenario> {
  const run = Date.now().toString(36);
  const baseUrl = options.urls[0];
  const people: Person[] = [];
  let directoryId = 0;
  for (const [index, { label, role }] of PEOPLE.entries()) {
    const user: SimUser = { name: `sim-${run}-${label}`, directories: [], token: '' };
    // Each person's own session for what the app's pages would do (create, invite, accept, remove) and for the checks.
    const session = await login(baseUrl, `${user.name}#checks`);
    user.token = session.token;
    if (role === 'owner') {
      directoryId = await createDirectory(baseUrl, user.token, `team ${run}`);
    } else {
      const owner = people[0].user;
      const { invite } = await expectStatus<{ invite: { code: string; qr: string } }>(201, baseUrl, 'POST', `/api/directories/${directoryId}/invites`, owner.token, { role, maxUses: 1 });
      const joined = await expectStatus<{ role: Role }>(200, baseUrl, 'POST', `/api/invites/${invite.qr.replace(/^scancode:join:/, '')}/accept`, user.token);
      if (joined.role !== role) throw new Error(`${label} joined as ${joined.role}, invited as ${role}`);
    }
    user.directories.push(directoryId);
    const phone = new Phone(user, `sim-${run}-${label}-phone`, tally, options.urls, index);
    await phone.start();
    people.push({ label, role, user, userId: session.user.id, phone });
  }
  const [owner, , removed, viewer] = people;
  const phones = people.map((person) => person.phone);
  const personOf = new Map(people.map((person) => [person.phone.name, person]));

  let removal: Promise<void> | null = null;
  /** When the owner's removal was answered (performance.now()); every scan of the removed editor made later must be refused. */
  let removedAt: number | null = null;
  let removalFailed: unknown = null;

  const scansOf = (person: Person) => [...tally.made].filter(([, made]) => made.phone === person.phone.name);
  const members = () => people.filter((person) => person !== removed);

  return {
    title: 'a team (owner, 2 editors, viewer; one editor removed half-way), one phone each',
    phones,

    // The people take turns (so that each makes scans whatever the rate); one whose app is not running is skipped.
    nextScan(n) {
      for (let k = 0; k < phones.length; k++) {
        const phone = phones[(n + k) % phones.length];
        if (phone.client !== null) return { phone, scan: randomScan(directoryId, options.codes) };
      }
      return null;
    },

    during(elapsed) {
      if (removal !== null || elapsed < options.duration / 2) return;
      removal = expectStatus(204, baseUrl, 'DELETE', `/api/directories/${directoryId}/members/${removed.userId}`, owner.user.token).then(
        () => void (removedAt = performance.now()),
        (error: unknown) => void (removalFailed = error),
      );
    },

    async unsettled() {
      await removal;
      const missing: string[] = [];
      const { revision } = await serverDirectory(baseUrl, owner.user, directoryId);
      for (const { phone } of members()) {
        const view = phone.client?.view(directoryId);
        if (!view || !view.synced || view.revision !== revision) missing.push(`${phone.name} at revision ${view?.revision ?? 'none'} of ${revision}`);
      }
      const lost = removed.phone.client?.view(directoryId)?.lost ?? null;
      if (removedAt !== null && lost === null) missing.push(`${removed.phone.name} still watches the directory it was removed from`);
      for (const phone of phones) {
        const pending = phone.client?.pending().length ?? 0;
        if (pending > 0) missing.push(`${phone.name} has ${pending} scans unanswered`);
      }
      return missing;
    },

    async check(all) {
      const problems = answeredOnce(all);
      if (removalFailed !== null || removedAt === null) problems.push(`the owner could not remove ${removed.label}: ${String(removalFailed)}`);
      for (const [eventId, error] of all.refused) {
        const person = personOf.get(all.made.get(eventId)?.phone ?? '');
        const allowed = person === viewer ? error.code === 'forbidden' : REFUSALS_OF_STOCK.has(error.code) || (person === removed && error.code === 'directory_not_found');
        if (!allowed) problems.push(`${person?.label ?? '?'}'s ${eventId} refused with ${error.code}: ${error.message}`);
      }

      // The viewer may scan nothing: every scan refused forbidden, naming the role and the one required.
      const viewerScans = scansOf(viewer);
      if (viewerScans.length === 0) problems.push('the viewer made no scan: the run was too short to show its refusals');
      for (const [eventId] of viewerScans) {
        const error = all.refused.get(eventId) as (ErrorBody & { role?: unknown; required?: unknown }) | undefined;
        if (all.applied.has(eventId)) problems.push(`the viewer's ${eventId} was applied`);
        else if (error && (error.code !== 'forbidden' || error.role !== 'viewer' || error.required !== 'editor'))
          problems.push(`the viewer's ${eventId} refused with ${JSON.stringify(error)}, not forbidden (viewer, editor required)`);
      }

      // The removed editor's scans made after the removal: all refused directory_not_found, none applied.
      const after = removedAt === null ? [] : scansOf(removed).filter(([, made]) => made.at > (removedAt as number));
      if (removedAt !== null && after.length === 0) problems.push(`${removed.label} made no scan after the removal: the run was too short to show its refusals`);
      for (const [eventId] of after) {
        const error = all.refused.get(eventId);
        if (all.applied.has(eventId)) problems.push(`${removed.label}'s ${eventId}, made after the removal, was applied`);
        else if (error && error.code !== 'directory_not_found') problems.push(`${removed.label}'s ${eventId}, made after the removal, refused with ${error.code}, not directory_not_found`);
      }

      // Every accepted scan applied once; every member's phone equals the server.
      const directory = await checkDirectory(
        baseUrl,
        owner.user,
        directoryId,
        members().map((person) => person.phone),
        all,
      );
      problems.push(...directory.problems);
      // Each logged scan by the user who made it.
      for (const { eventId, userId } of await loggedEvents(baseUrl, owner.user, directoryId)) {
        const person = personOf.get(all.made.get(eventId)?.phone ?? '');
        if (person && person.userId !== userId) problems.push(`${eventId} of ${person.label} is logged as user ${userId}`);
      }
      // The members as the owner sees them: everyone but the removed editor, with the role they were invited with.
      const { members: listed } = await get<{ members: { user: { id: number }; role: Role }[] }>(baseUrl, `/api/directories/${directoryId}/members`, owner.user.token);
      const expected = members()
        .map((person) => `${person.userId}:${person.role}`)
        .sort();
      const actual = listed.map((member) => `${member.user.id}:${member.role}`).sort();
      if (expected.join() !== actual.join()) problems.push(`members are ${actual.join(', ')}, not ${expected.join(', ')}`);
      return problems;
    },

    passed:
      "the viewer's scans all refused (forbidden), the removed editor's scans after the removal all refused (directory_not_found), " +
      "every accepted scan applied once (counts = sum of accepted deltas, each in the log once by its user), every member's phone at the final revision with the server's counts",

    lines() {
      const tallyOf = (person: Person, made = scansOf(person)) => {
        const applied = made.filter(([id]) => tally.applied.has(id)).length;
        const refusals: Record<string, number> = {};
        for (const [id] of made) {
          const code = tally.refused.get(id)?.code;
          if (code !== undefined) refusals[code] = (refusals[code] ?? 0) + 1;
        }
        return `${made.length} made, ${applied} applied${Object.entries(refusals)
          .map(([code, n]) => `, ${n} ${code}`)
          .join('')}`;
      };
      const after = scansOf(removed).filter(([, made]) => removedAt !== null && made.at > removedAt);
      return [...people.map((person) => `  ${person.label.padEnd(12)} ${person.role}: ${tallyOf(person)}`), `  after removal ${removed.label}: ${tallyOf(removed, after)}`];
    },
  };
}
