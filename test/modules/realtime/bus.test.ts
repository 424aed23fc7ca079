import { InProcessBus, type Bus, type BusMessage } from '../../../src/modules/realtime/bus';
import Redis from 'ioredis';
import { RedisBus } from '../../../src/modules/realtime/redis-bus';
import { TEST_REDIS_URL, testChannel } from '../../helpers/redis';

function change(revision: number, ownerId = 1, directoryId = 7): BusMessage {
  return { type: 'change', directoryId, revision, change: { revision, type: 'in', code: 'c', delta: 1, userId: ownerId, nickname: '', at: new Date(0).toISOString() } };
}

const SECRET = 'a-bus-secret-of-the-tests-0123456789';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** Collects what a listener hears until `count` messages have arrived. */
function collect(bus: Bus, count: number): { heard: BusMessage[]; done: Promise<BusMessage[]> } {
  const heard: BusMessage[] = [];
  const done = new Promise<BusMessage[]>((resolve) => {
    bus.subscribe((message) => {
      heard.push(message);
      if (heard.length === count) resolve(heard);
    });
  });
  return { heard, done };
}

/** The contract every bus keeps; the gateway relies on nothing else. */
const buses: { name: string; make(channel: string): Promise<Bus> }[] = [
  { name: 'in-process', make: async () => new InProcessBus() },
  { name: 'redis', make: (channel) => RedisBus.connect({ url: TEST_REDIS_URL, channel, secrets: [SECRET] }) },
];

describe.each(buses)('the $name bus', ({ make }) => {
  let bus: Bus;
  beforeEach(async () => (bus = await make(testChannel())));
  afterEach(() => bus.close());

  it('delivers every message to every listener, in publish order', async () => {
    const a = collect(bus, 100);
    const b = collect(bus, 100);
    for (let revision = 1; revision <= 100; revision++) await bus.publish(change(revision));
    for (const heard of [await a.done, await b.done]) {
      expect(heard.map((m) => (m.type === 'change' ? m.revision : 0))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    }
  });

  it('delivers to this process on the next turn: publish never waits for the listeners', async () => {
    const heard: BusMessage[] = [];
    bus.subscribe((message) => heard.push(message));
    const first = bus.publish(change(1));
    const second = bus.publish(change(2));
    expect(heard).toEqual([]);
    await Promise.all([first, second]);
    await nextTurn();
    expect(heard).toEqual([change(1), change(2)]);
  });

  it('stops delivering to an unsubscribed listener, and a throwing listener stops no other', async () => {
    const kept: BusMessage[] = [];
    const dropped: BusMessage[] = [];
    const unsubscribe = bus.subscribe((message) => dropped.push(message));
    bus.subscribe(() => {
      throw new Error('listener failure');
    });
    bus.subscribe((message) => kept.push(message));
    await bus.publish(change(1));
    await nextTurn();
    unsubscribe();
    await bus.publish(change(2));
    await nextTurn();
    expect(dropped).toEqual([change(1)]);
    expect(kept).toEqual([change(1), change(2)]);
  });
});

describe('two Redis bus instances (two servers)', () => {
  it('hear each other once and never their own echo twice', async () => {
    const channel = testChannel();
    const [a, b] = await Promise.all([RedisBus.connect({ url: TEST_REDIS_URL, channel, secrets: [SECRET] }), RedisBus.connect({ url: TEST_REDIS_URL, channel, secrets: [SECRET] })]);
    try {
      // Each instance has a watcher of directory 7 (the changes' directory).
      await Promise.all([a.watch('directory', 7), b.watch('directory', 7)]);
      const onA = collect(a, 4);
      const onB = collect(b, 4);
      await a.publish(change(1));
      await b.publish(change(2));
      await a.publish(change(3));
      await b.publish(change(4));
      const heardA = await onA.done;
      const heardB = await onB.done;
      // Each hears all four exactly once (its own locally, the other's through Redis).
      expect(heardA.map((m) => (m.type === 'change' ? m.revision : 0)).sort()).toEqual([1, 2, 3, 4]);
      expect(heardB.map((m) => (m.type === 'change' ? m.revision : 0)).sort()).toEqual([1, 2, 3, 4]);
      // Nothing more arrives after a round trip: a ping message marks the end of the stream.
      const marker = new Promise<void>((resolve) => b.subscribe((m) => m.type === 'session-revoked' && resolve()));
      await a.publish({ type: 'session-revoked', userId: 1, sessionId: 1 });
      await marker;
      expect(onB.heard).toHaveLength(5);
      expect(onA.heard).toHaveLength(5);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('drops what is not a bus message (PUBLISH <channel> null, junk, forged shapes) and keeps delivering real ones', async () => {
    const channel = testChannel();
    const [a, b] = await Promise.all([RedisBus.connect({ url: TEST_REDIS_URL, channel, secrets: [SECRET] }), RedisBus.connect({ url: TEST_REDIS_URL, channel, secrets: [SECRET] })]);
    const intruder = new Redis(TEST_REDIS_URL);
    try {
      await b.watch('directory', 7);
      const heard = collect(b, 1);
      for (const text of [
        'null',
        'junk',
        '[]',
        '{"from":"x"}',
        JSON.stringify({ from: 'x', message: { type: 'change', ownerId: 1 } }),
        JSON.stringify({ from: 'x', message: { type: 'directory', ownerId: 1, event: 'hacked', directory: {} } }),
      ]) {
        await intruder.publish(channel, text);
      }
      await a.publish(change(9));
      expect(await heard.done).toEqual([change(9)]);
      expect(b.droppedMessages).toBe(6);
    } finally {
      intruder.disconnect();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses to start when Redis cannot be reached', async () => {
    await expect(RedisBus.connect({ url: 'redis://127.0.0.1:1/0', channel: testChannel(), secrets: [SECRET] })).rejects.toThrow();
  });
});
