import { openDatabase, writerThread, type Orm } from '../../src/db/orm';
import { isDuplicateKey, rawDatabase, type RawDatabase } from '../../src/db/raw';
import { testDatabases } from '../helpers/db';

/**
 * The embedded database's transactions run on its writer thread (src/db/sqlite-thread.ts), over a
 * connection of its own to the same file: what they commit is what the main thread's connection reads
 * next, what fails is rolled back with the driver's error, the event loop serves other work between
 * their statements, and closing the database ends the thread.
 */
describe.each(testDatabases().filter((db) => db.name === 'sqlite'))('the embedded database writer thread ($name)', (db) => {
  let orm: Orm;
  let raw: RawDatabase;
  let drop: () => Promise<void>;
  let config: Parameters<typeof openDatabase>[0];
  const at = new Date('2026-12-07T12:00:00Z');

  beforeEach(async () => {
    const database = await db.create();
    drop = database.drop;
    config = database.config;
    orm = await openDatabase(config);
    raw = rawDatabase(orm);
  });
  afterEach(async () => {
    await orm.close();
    await drop();
  });

  const addUser = (openid: string) => raw.transaction((sql) => sql.run('insert into users (openid, created_at, updated_at) values (?, ?, ?)', [openid, at, at]));
  const readUsers = () => orm.em.fork().getConnection().execute<{ openid: string; created_at: number }[]>('select openid, created_at from users order by id');

  it('is there for a database file', () => {
    expect(writerThread(orm)).not.toBeNull();
  });

  it('commits what the main connection reads next, dates stored as milliseconds as MikroORM stores them', async () => {
    const { insertId } = await addUser('alice');
    expect(insertId).toBeGreaterThan(0);
    expect(await readUsers()).toEqual([{ openid: 'alice', created_at: at.getTime() }]);
  });

  it('rolls a failed transaction back whole and passes the driver error on', async () => {
    await addUser('bob');
    const failed = await raw
      .transaction(async (sql) => {
        await sql.run('insert into users (openid, created_at, updated_at) values (?, ?, ?)', ['carol', at, at]);
        await sql.run('insert into users (openid, created_at, updated_at) values (?, ?, ?)', ['bob', at, at]);
      })
      .catch((error: unknown) => error);
    expect(isDuplicateKey(failed)).toBe(true);
    expect((await readUsers()).map((user) => user.openid)).toEqual(['bob']);
    // The connection is usable again: nothing of the failed transaction is left open on it.
    await addUser('dave');
    expect((await readUsers()).map((user) => user.openid)).toEqual(['bob', 'dave']);
  });

  it('rolls back when the work itself throws after writing', async () => {
    const failed = await raw
      .transaction(async (sql) => {
        await sql.run('insert into users (openid, created_at, updated_at) values (?, ?, ?)', ['erin', at, at]);
        throw new Error('refused by the domain');
      })
      .catch((error: unknown) => error);
    expect((failed as Error).message).toBe('refused by the domain');
    expect(await readUsers()).toEqual([]);
  });

  it('lets the event loop run other work between the statements of one transaction', async () => {
    const order: string[] = [];
    const transaction = raw.transaction(async (sql) => {
      // Scheduled once the transaction has begun: on the event loop, it would run after the commit.
      setImmediate(() => order.push('other work'));
      for (let i = 0; i < 20; i++) await sql.all('select count(*) as n from users');
      order.push('last statement');
    });
    await transaction;
    expect(order).toEqual(['other work', 'last statement']);
  });

  it('runs transactions one at a time, each seeing the one before', async () => {
    await addUser('counter');
    const bump = () =>
      raw.transaction(async (sql) => {
        const [row] = await sql.all<{ n: number }>("select length(nickname) as n from users where openid = 'counter'");
        await sql.run("update users set nickname = nickname || 'x' where openid = 'counter' and length(nickname) = ?", [row.n]);
      });
    await Promise.all(Array.from({ length: 25 }, bump));
    const [row] = await orm.em.fork().getConnection().execute<{ n: number }[]>("select length(nickname) as n from users where openid = 'counter'");
    expect(row.n).toBe(25);
  });

  it('lets the transaction under way commit when the database closes', async () => {
    const underWay = raw.transaction(async (sql) => {
      for (let i = 0; i < 10; i++) await sql.all('select count(*) as n from users');
      await sql.run('insert into users (openid, created_at, updated_at) values (?, ?, ?)', ['last-in', at, at]);
    });
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([underWay, orm.close()]);
    orm = await openDatabase(config);
    expect((await readUsers()).map((user) => user.openid)).toEqual(['last-in']);
  });

  it('ends with the database: a transaction after close fails instead of waiting', async () => {
    const thread = writerThread(orm);
    await orm.close();
    await expect(thread?.transaction((sql) => sql.all('select 1'))).rejects.toThrow();
    // afterEach closes again: harmless.
  });
});
