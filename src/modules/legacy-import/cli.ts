import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, parseDatabaseUrl, type DatabaseConfig } from '../../config';
import { openDatabase, type Orm } from '../../db/orm';
import { formatSummary, progressOn } from './report';
import { importFromDjango } from './run';
import { redact, SourceError } from './source';

/**
 * `npm run import:django -- --from mysql://user:pass@host:3306/olddb [--dry-run]`: the old Django
 * backend's users and data into the database the server is configured for (DATABASE_URL, default the
 * embedded SQLite file). A script, run by hand: the server never runs it.
 *
 * Exit codes: 0 done; 1 a database could not be reached or read; 2 bad arguments or DATABASE_URL;
 * 3 some directories were not imported (changed in scancode while the import ran: run it again).
 */

const USAGE = 'usage: npm run import:django -- --from mysql://user:pass@host:3306/olddb [--dry-run]';

function fail(code: number, message: string): never {
  process.stderr.write(`import:django: ${message}\n`);
  process.exit(code);
}

function parse(): { from: string; dryRun: boolean; target: DatabaseConfig } {
  let values;
  try {
    ({ values } = parseArgs({ options: { from: { type: 'string' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    fail(2, `${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.from === undefined) fail(2, `--from is required\n${USAGE}`);
  try {
    const from = parseDatabaseUrl(values.from, '--from');
    if (from.kind !== 'mysql') fail(2, '--from must be the old MySQL/MariaDB database, mysql://user:pass@host:3306/olddb');
    return { from: from.url, dryRun: values['dry-run'] ?? false, target: parseDatabaseUrl(process.env.DATABASE_URL) };
  } catch (error) {
    if (error instanceof ConfigError) fail(2, error.message.replace(/^invalid configuration: /, ''));
    throw error;
  }
}

const describeTarget = (target: DatabaseConfig) => (target.kind === 'mysql' ? redact(target.url) : `sqlite:${target.path}`);

async function main(): Promise<void> {
  const { from, dryRun, target } = parse();
  const progress = progressOn(process.stderr);
  let orm: Orm;
  try {
    if (target.kind === 'sqlite') mkdirSync(dirname(target.path), { recursive: true });
    orm = await openDatabase(target);
  } catch (error) {
    fail(1, `cannot open the scancode database at ${describeTarget(target)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const result = await importFromDjango(orm.em.fork(), {
      from,
      dryRun,
      onStage: (message) => progress.stage(message),
      onStep: (step, done, total) => progress.step(step, done, total),
    });
    progress.end();
    process.stdout.write(formatSummary(result, redact(from), describeTarget(target)));
    if (result.failures.length > 0) process.exitCode = 3;
  } catch (error) {
    progress.end();
    if (error instanceof SourceError) fail(1, error.message);
    throw error;
  } finally {
    await orm.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`import:django: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
