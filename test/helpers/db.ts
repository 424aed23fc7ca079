import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { DatabaseConfig } from '../../src/config';

/**
 * The databases every suite runs against: the embedded SQLite default and MariaDB/MySQL at
 * TEST_MYSQL_URL (default: the local MariaDB). TEST_DATABASES=sqlite (or mysql) narrows the list.
 * Each call makes a brand-new database, so suites and workers never share state.
 */
export interface TestDatabase {
  name: 'sqlite' | 'mysql';
  create(): Promise<{ config: DatabaseConfig; drop(): Promise<void> }>;
}

const MYSQL_URL = process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/scancode_test';

const sqlite: TestDatabase = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'scancode-test-'));
    return { config: { kind: 'sqlite', path: join(dir, 'scancode.db') }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

const mysqlDatabase: TestDatabase = {
  name: 'mysql',
  async create() {
    const base = new URL(MYSQL_URL);
    const name = `${base.pathname.slice(1)}_${randomBytes(5).toString('hex')}`;
    const admin = new URL(MYSQL_URL);
    admin.pathname = '/';
    const connection = await mysql.createConnection(admin.toString());
    await connection.query(`create database \`${name}\` character set utf8mb4 collate utf8mb4_bin`);
    await connection.end();
    const url = new URL(MYSQL_URL);
    url.pathname = `/${name}`;
    return {
      config: { kind: 'mysql', url: url.toString() },
      drop: async () => {
        const c = await mysql.createConnection(admin.toString());
        await c.query(`drop database if exists \`${name}\``);
        await c.end();
      },
    };
  },
};

export function testDatabases(): TestDatabase[] {
  const wanted = (process.env.TEST_DATABASES ?? 'sqlite,mysql').split(',').map((s) => s.trim());
  return [sqlite, mysqlDatabase].filter((db) => wanted.includes(db.name));
}

/** Only the MariaDB target (for the concurrency tests that need a real multi-connection server). */
export function mysqlOnly(): TestDatabase[] {
  return testDatabases().filter((db) => db.name === 'mysql');
}
