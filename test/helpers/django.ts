import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import mysql from 'mysql2/promise';
import type { DatabaseConfig } from '../../src/config';
import type { TestDatabase } from './db';

/**
 * The old Django backend's data, as a real MariaDB database for the import to read: the dump
 * `test/fixtures/django-seed.sql` (made by running the old backend against MariaDB and driving its
 * mini-program through a day of use) loaded into a scratch database `old_<random>` of its own.
 * DJANGO_SEED_SQL names another dump. A missing dump fails the suite.
 */
export const DJANGO_SEED_SQL = process.env.DJANGO_SEED_SQL || resolve(__dirname, '../fixtures/django-seed.sql');

const MYSQL_URL = process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/scancode_test';

export interface OldDatabase {
  /** mysql://…/old_<random>, what `--from` is given. */
  url: string;
  /** A statement on the old database (bound parameters), as the old app would have made it. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** `select count(*)` of an old table. */
  count(table: string): Promise<number>;
  drop(): Promise<void>;
}

export async function loadDjangoSeed(): Promise<OldDatabase> {
  if (!existsSync(DJANGO_SEED_SQL)) throw new Error(`the Django dump is not at ${DJANGO_SEED_SQL} (DJANGO_SEED_SQL names another path)`);
  const name = `old_${randomBytes(5).toString('hex')}`;
  const admin = new URL(MYSQL_URL);
  admin.pathname = '/';
  const setup = await mysql.createConnection({ uri: admin.toString(), multipleStatements: true, charset: 'utf8mb4' });
  await setup.query(`create database \`${name}\` character set utf8mb4 collate utf8mb4_general_ci`);
  await setup.query(`use \`${name}\``);
  await setup.query(readFileSync(DJANGO_SEED_SQL, 'utf8'));
  await setup.end();

  const url = new URL(MYSQL_URL);
  url.pathname = `/${name}`;
  const connection = await mysql.createConnection({ uri: url.toString(), charset: 'utf8mb4', timezone: 'Z' });
  return {
    url: url.toString(),
    async query<T>(sql: string, params: unknown[] = []) {
      const [rows] = await connection.query(sql, params);
      return rows as T[];
    },
    async count(table) {
      const [rows] = await connection.query(`select count(*) as n from \`${table}\``);
      return Number((rows as { n: number }[])[0].n);
    },
    async drop() {
      await connection.query(`drop database if exists \`${name}\``);
      await connection.end();
    },
  };
}

/** A TestDatabase that hands out an existing database (startServer over data imported beforehand). */
export function existingDatabase(name: TestDatabase['name'], config: DatabaseConfig): TestDatabase {
  return { name, create: async () => ({ config, drop: async () => {} }) };
}
