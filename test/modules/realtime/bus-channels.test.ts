import type { BusMessage } from '../../../src/modules/realtime/bus';
import { BusChannels } from '../../../src/modules/realtime/bus-channels';
import { parseRedisUrl } from '../../../src/modules/realtime/redis-url';
import { loadConfig } from '../../../src/config';

/** Where each message goes between instances, and what REDIS_URL names: no Redis needed. */
describe('the channels of the bus', () => {
  const channels = new BusChannels('scancode:bus');
  const directory = { id: 4, name: '一号库', revision: 0, role: 'owner' as const, owner: { id: 1, nickname: 'a' }, createdAt: '', updatedAt: '', freq: 0, goodsCount: 0, totalCount: 0 };
  const change: BusMessage = {
    type: 'change',
    directoryId: 4,
    revision: 1,
    change: { revision: 1, type: 'in', code: 'c', delta: 1, userId: 1, nickname: '', at: new Date(0).toISOString() },
  } as BusMessage;
  const where = (message: BusMessage) => channels.addressed(message).map(({ scope, channel }) => `${scope} ${channel}`);

  it("puts a directory's changes and counts on its channel, and nothing else there", () => {
    expect(where(change)).toEqual(['directory scancode:bus:d:4']);
    expect(where({ type: 'count', directoryId: 4, countId: 2 })).toEqual(['directory scancode:bus:d:4']);
  });

  it('puts a directory event and an alert on each member’s channel, each carrying that member alone', () => {
    const event: BusMessage = {
      type: 'directory',
      event: 'renamed',
      directory,
      audience: [
        { userId: 1, role: 'owner' },
        { userId: 2, role: 'viewer' },
      ],
    };
    const addressed = channels.addressed(event);
    expect(addressed.map(({ channel }) => channel)).toEqual(['scancode:bus:u:1', 'scancode:bus:u:2']);
    expect(addressed.map(({ message }) => (message.type === 'directory' ? message.audience : null))).toEqual([[{ userId: 1, role: 'owner' }], [{ userId: 2, role: 'viewer' }]]);
    const alert = channels.addressed({ type: 'alert', directoryId: 4, goods: {} as never, audience: [3, 5] });
    expect(alert.map(({ channel, message }) => [channel, message.type === 'alert' ? message.audience : null])).toEqual([
      ['scancode:bus:u:3', [3]],
      ['scancode:bus:u:5', [5]],
    ]);
    expect(where({ type: 'membership', event: 'shared', userId: 7, directory })).toEqual(['user scancode:bus:u:7']);
  });

  it('puts logouts, web login approvals and resyncs on the global channel', () => {
    expect(where({ type: 'session-revoked', userId: 1, sessionId: 2 })).toEqual(['global scancode:bus']);
    expect(where({ type: 'web-login-approved', id: 'abc' })).toEqual(['global scancode:bus']);
    expect(where({ type: 'resync' })).toEqual(['global scancode:bus']);
  });

  it("tells the scope of a channel of this deployment, and none of another's", () => {
    expect(['scancode:bus', 'scancode:bus:d:4', 'scancode:bus:u:9', 'scancode:bus2:d:4', 'other', 'scancode:bus:x:1'].map((c) => channels.scopeOf(c))).toEqual([
      'global',
      'directory',
      'user',
      null,
      null,
      null,
    ]);
  });
});

describe('REDIS_URL', () => {
  it('names one server, or the nodes of a Redis Cluster with their credentials', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/15')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379/15' });
    expect(parseRedisUrl('redis://h1:7000,h2:7001,[::1]:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      tls: false,
    });
    expect(parseRedisUrl('rediss://app:p%40ss@h1:7000,h2:7000')).toMatchObject({ kind: 'cluster', username: 'app', password: 'p@ss', tls: true });
    expect(parseRedisUrl('redis://:secret@h1:7000,h2:7000')).toMatchObject({ password: 'secret' });
  });

  it('refuses a Cluster node without a port, and a database number on a Cluster, naming REDIS_URL', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://h1:7000,h2' })).toThrow(/REDIS_URL.*"h2".*host:port/);
    expect(() => loadConfig({ REDIS_URL: 'redis://h1:7000,h2:7001/3' })).toThrow(/REDIS_URL.*database number/);
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL.*redis:\/\//);
    expect(loadConfig({ REDIS_URL: 'redis://h1:7000,h2:7001' }).redisUrl).toBe('redis://h1:7000,h2:7001');
  });
});
