import mysql, { type RowDataPacket } from 'mysql2/promise';
import type { OldDirectory, OldGoods, OldLog, OldTables, OldUser } from './model';

/** The old database could not be read: unreachable, refused, or not the Django backend's. */
export class SourceError extends Error {}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/**
 * Reads the old Django backend's tables whole, in id order. The old app's data is small (one row per
 * scan at most), and a plan needs every row of a directory at once anyway.
 *
 * Times: Django (USE_TZ) stored UTC in DATETIME columns, so they are read as UTC.
 */
export async function readOldTables(url: string): Promise<OldTables> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection({ uri: url, charset: 'utf8mb4', timezone: 'Z', connectTimeout: 5000 });
  } catch (error) {
    throw new SourceError(`cannot connect to the old database at ${redact(url)}: ${describe(error)}`);
  }
  try {
    const rows = async <T>(sql: string): Promise<T[]> => (await connection.query<RowDataPacket[]>(sql))[0] as T[];
    const users = await rows<OldUser>(
      'select p.id, u.username, p.openid, p.nickname, p.gender, p.city, p.province, u.date_joined as dateJoined from mycode_profile p join auth_user u on u.id = p.user_id order by p.id',
    );
    const accountsWithoutProfile = await rows<{ id: number; username: string }>(
      'select u.id, u.username from auth_user u left join mycode_profile p on p.user_id = u.id where p.id is null order by u.id',
    );
    const directories = await rows<OldDirectory>(
      'select id, owner_id as ownerId, name, status, freq, created_time as createdTime, last_active_time as lastActiveTime from mycode_directory order by id',
    );
    const goods = await rows<OldGoods>('select id, belong_id as belongId, name, count, code, remarks, created_time as createdTime, last_active_time as lastActiveTime from mycode_goods order by id');
    const logs = await rows<OldLog>('select id, owner_id as ownerId, created_time as createdTime, type, dir_id as dirId, good_id as goodId from mycode_log order by id');
    return { users, accountsWithoutProfile, directories, goods, logs };
  } catch (error) {
    throw new SourceError(`cannot read the old tables at ${redact(url)}: ${describe(error)}`);
  } finally {
    await connection.end().catch(() => undefined);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  // An unreachable host fails with an AggregateError (one error per address) and an empty message.
  const message = error.message || (error instanceof AggregateError ? error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ') : '');
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}`.trim() : message;
}
