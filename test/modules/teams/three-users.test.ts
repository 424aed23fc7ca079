import { startServer, type TestServer } from '../../helpers/app';
import { testDatabases } from '../../helpers/db';
import { client } from '../../helpers/http';
import { createDirectory, directoryState, type Api } from '../../helpers/inventory';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';
import { closeAll, connect, type TestSocket } from '../../helpers/ws';

/**
 * SPEC "Teams": a shop's owner and two editors (who joined by invites), each with a phone scanning over
 * HTTP and a phone scanning over the socket, all into one directory at once; every member (the viewer,
 * the bookkeeper, too) watches it from a socket of their own. Every watcher sees every revision exactly
 * once, in order, each Change naming who made it (`userId`, the `nickname` they set, the `deviceId` of
 * the phone), and the counts are what the scans add up to. On one instance, and on two instances over
 * Redis (the periodic check an hour away there, so that what crosses came through the bus).
 */

const CODES = ['6901234567892', 'rice', '茶叶 500g', 'https://example.com/item?id=7'];
/** What each code holds before the scanning starts: enough for every `out` of the run. */
const STOCK = 1000;
const SCANS_PER_PHONE = 24;

interface Member {
  name: string;
  nickname: string;
  userId: number;
  /** The phone that scans over HTTP (its own session, deviceId `<name>-http`). */
  api: Api;
  /** The tokens of the phone that scans over the socket and of the one that watches. */
  socketToken: string;
  watcherToken: string;
}

interface Expected {
  userId: number;
  nickname: string;
  deviceId: string;
  code: string;
  delta: number;
  /** The revision its answer (ack or HTTP) gave it. */
  revision: number;
}

const layouts = [
  { layout: 'one instance', instances: 1 },
  { layout: 'two instances over Redis', instances: 2 },
];

describe.each(testDatabases())('three users scanning one directory at once, on $name', (db) => {
  describe.each(layouts)('$layout', ({ instances }) => {
    const servers: TestServer[] = [];
    const sockets: TestSocket[] = [];
    /** The instance of the k-th thing: with two, each member's phones and watcher are spread over both. */
    const on = (k: number) => servers[k % servers.length];

    beforeAll(async () => {
      const env: Record<string, string> = instances > 1 ? { REDIS_URL: TEST_REDIS_URL, REDIS_CHANNEL: testChannel(), REVISION_CHECK_MS: '3600000' } : {};
      servers.push(await startServer(db, { env }));
      for (let i = 1; i < instances; i++) servers.push(await startServer(db, { env, deps: { orm: servers[0].app.services.orm } }));
    });
    afterAll(async () => {
      await closeAll(sockets);
      for (const server of servers.reverse()) await server.close();
    });

    /** Logs the member's three phones in (each a session with its deviceId), then sets the nickname. */
    async function member(k: number, name: string, nickname: string): Promise<Member> {
      const token = await on(k).login(name, { deviceId: `${name}-http` });
      const socketToken = await on(k + 1).login(name, { deviceId: `${name}-ws` });
      const watcherToken = await on(k).login(name, { deviceId: `${name}-watch` });
      const api = client(on(k).url, token);
      const patched = await api.patch('/api/me', { body: { nickname } });
      expect(patched.status).toBe(200);
      expect(patched.body.user.nickname).toBe(nickname);
      return { name, nickname, userId: patched.body.user.id, api, socketToken, watcherToken };
    }

    it("gives every member's watcher every revision once, in order, each naming its user, nickname and device; the counts add up", async () => {
      const owner = await member(0, 'shop-owner', '店主老陈');
      const editors = [await member(1, 'editor-wang', '小王'), await member(2, 'editor-li', '小李')];
      const viewer = await member(3, 'bookkeeper', '会计');
      const directoryId = await createDirectory(owner.api, '门店仓库');
      for (const [user, role] of [
        [editors[0], 'editor'],
        [editors[1], 'editor'],
        [viewer, 'viewer'],
      ] as const) {
        const invite = await owner.api.post(`/api/directories/${directoryId}/invites`, { body: { role } });
        expect(invite.status).toBe(201);
        const accepted = await user.api.post(`/api/invites/${invite.body.invite.code}/accept`);
        expect([accepted.status, accepted.body.role]).toEqual([200, role]);
      }
      const members = [owner, ...editors, viewer];

      // A watcher per member, spread over the instances, from the directory's first revision.
      const watchers = await Promise.all(members.map((m, k) => connect(on(k + 1).url, m.watcherToken)));
      sockets.push(...watchers);
      for (const watcher of watchers) expect(await watcher.request({ type: 'subscribe', directoryId, since: 0 })).toMatchObject({ ok: true, result: { revision: 0 } });

      const expected = new Map<string, Expected>();
      const counts = new Map<string, number>();
      const record = (user: Member, device: string, eventId: string, code: string, result: { revision: number; delta: number }) => {
        expect(expected.has(eventId)).toBe(false);
        expected.set(eventId, { userId: user.userId, nickname: user.nickname, deviceId: `${user.name}-${device}`, code, delta: result.delta, revision: result.revision });
        counts.set(code, (counts.get(code) ?? 0) + result.delta);
      };

      // The owner stocks every code first (a stocktake), so that no `out` of the run is refused.
      for (const [i, code] of CODES.entries()) {
        const answer = await owner.api.post(`/api/directories/${directoryId}/scans`, { body: { op: 'set', code, qty: STOCK, eventId: `stock-${i}` } });
        expect(answer.status).toBe(200);
        record(owner, 'http', `stock-${i}`, code, answer.body);
      }

      // Then the three scanners' six phones at once: the HTTP phones each scan as soon as the last
      // scan is answered; the socket phones send all their scans at once, pipelined.
      const scanOf = (i: number, k: number) => {
        const code = CODES[(i + k) % CODES.length];
        return i % 3 === 2 ? { op: 'out', code, qty: (i % 4) + 1 } : { op: 'in', code, qty: (i % 5) + 1 };
      };
      const scanners = [owner, ...editors];
      const socketPhones = await Promise.all(scanners.map((m, k) => connect(on(k + 1).url, m.socketToken)));
      sockets.push(...socketPhones);
      await Promise.all([
        ...scanners.map(async (user, k) => {
          for (let i = 0; i < SCANS_PER_PHONE; i++) {
            const eventId = `${user.name}-http-${i}`;
            const body = scanOf(i, k);
            const answer = await user.api.post(`/api/directories/${directoryId}/scans`, { body: { ...body, eventId } });
            expect(answer.status).toBe(200);
            record(user, 'http', eventId, body.code, answer.body);
          }
        }),
        ...scanners.map(async (user, k) => {
          const acks = await Promise.all(
            Array.from({ length: SCANS_PER_PHONE }, (_, i) => {
              const eventId = `${user.name}-ws-${i}`;
              const body = scanOf(i, k + 1);
              return socketPhones[k].request({ type: 'scan', id: eventId, directoryId, ...body }).then((ack) => ({ ack, eventId, code: body.code }));
            }),
          );
          for (const { ack, eventId, code } of acks) {
            expect(ack).toMatchObject({ ok: true, result: { duplicate: false } });
            record(user, 'ws', eventId, code, ack.result);
          }
        }),
      ]);

      // Every accepted scan took one revision of its own: the answers name each of 1..final once.
      const final = CODES.length + scanners.length * 2 * SCANS_PER_PHONE;
      const revisions = Array.from({ length: final }, (_, i) => i + 1);
      expect([...expected.values()].map((e) => e.revision).sort((a, b) => a - b)).toEqual(revisions);

      for (const [w, watcher] of watchers.entries()) {
        const frames = await watcher.changesUpTo(directoryId, final);
        expect(frames.map((frame) => frame.revision)).toEqual(revisions);
        const lastCount = new Map<string, number>();
        for (const frame of frames) {
          const { change } = frame;
          const made = expected.get(change.eventId);
          expect({ watcher: members[w].name, eventId: change.eventId, made: made !== undefined }).toEqual({ watcher: members[w].name, eventId: change.eventId, made: true });
          expect({ revision: change.revision, userId: change.userId, nickname: change.nickname, deviceId: change.deviceId, code: change.code, delta: change.delta }).toEqual({
            revision: made?.revision,
            userId: made?.userId,
            nickname: made?.nickname,
            deviceId: made?.deviceId,
            code: made?.code,
            delta: made?.delta,
          });
          lastCount.set(change.code, change.goods.count);
        }
        expect(lastCount).toEqual(counts);
      }

      // The directory as every member reads it: the final revision, each code's count the sum of its scans.
      expect(counts).toEqual(new Map(CODES.map((code) => [code, STOCK + sumOfScans(code, scanners.length, scanOf)])));
      for (const user of members) {
        const { directory, goods } = await directoryState(user.api, directoryId);
        expect(directory.revision).toBe(final);
        expect(new Map(goods.map((g: { code: string; count: number }) => [g.code, g.count]))).toEqual(counts);
      }
    });
  });
});

/** What the run's scans add to a code, computed from the plan alone (not from the answers). */
function sumOfScans(code: string, scanners: number, scanOf: (i: number, k: number) => { op: string; code: string; qty: number }): number {
  let sum = 0;
  for (let k = 0; k < scanners; k++) {
    for (const phone of [k, k + 1]) {
      for (let i = 0; i < SCANS_PER_PHONE; i++) {
        const scan = scanOf(i, phone);
        if (scan.code === code) sum += scan.op === 'out' ? -scan.qty : scan.qty;
      }
    }
  }
  return sum;
}
