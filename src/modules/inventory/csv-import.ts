import { createHash } from 'node:crypto';
import { MAX_CODE_LENGTH, MAX_GOODS_NAME_LENGTH, MAX_IMPORT_LINES, operations, type Role } from '../../contract';
import type { Em } from '../../db/orm';
import { AppError, badRequest } from '../../errors';
import { codeHash } from './codes';
import type { InventoryContext } from './context';
import { csvRecords, unguarded } from './csv-parse';
import { authorize } from './directories';
import { isReplay, type Outcome } from './mutate';
import { MAX_COUNT } from './rules';
import type { Actor } from './views';

/**
 * CSV import: each line of goods becomes a `set` scan through the one mutation path (live, logged, one
 * revision each, group-committed with everything else of the directory), with an event id derived from
 * the directory and the line's content, so that a file sent twice (the answer lost, a double click) has
 * no second effect. A line that would change nothing is not submitted, so re-importing an export spends
 * no revision.
 */

export interface ImportResult {
  created: number;
  updated: number;
  unchanged: number;
  errors: { line: number; message: string }[];
}

interface ImportLine {
  line: number;
  code: string;
  name: string;
  remarks: string;
  count: number;
}

/** Lines submitted at once: the queue batches them; a bound keeps a 100,000-line file's promises in check. */
const CHUNK = 2_000;
const REMARKS_MAX = 1000;
const COLUMNS = ['code', 'name', 'remarks', 'count'] as const;
/** NUL and unpaired surrogates: what the server never stores (STORED_TEXT_PATTERN). */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const length = (text: string) => [...text].length;

/** The header's columns by name, in any order; `code` and `count` are required. */
function columnsOf(header: string[]): Record<(typeof COLUMNS)[number], number> {
  const names = header.map((name) => name.trim().toLowerCase());
  const index = Object.fromEntries(COLUMNS.map((column) => [column, names.indexOf(column)])) as Record<(typeof COLUMNS)[number], number>;
  if (index.code < 0 || index.count < 0) throw badRequest(`the first line must be the header code,name,remarks,count (got ${JSON.stringify(header.join(',').slice(0, 100))})`);
  return index;
}

/** One line of goods, or the reason it cannot be imported. */
function lineOf(line: number, fields: string[], columns: Record<(typeof COLUMNS)[number], number>, width: number): ImportLine | string {
  if (fields.length !== width) return `${fields.length} fields where the header has ${width}`;
  const field = (column: (typeof COLUMNS)[number]) => (columns[column] < 0 ? '' : unguarded(fields[columns[column]]));
  const code = field('code').replace(/[\r\n]+$/, '');
  const name = field('name');
  const remarks = field('remarks');
  const countText = field('count').trim();
  if (code === '') return 'code is empty';
  if (length(code) > MAX_CODE_LENGTH) return `code is longer than ${MAX_CODE_LENGTH} characters`;
  if (length(name) > MAX_GOODS_NAME_LENGTH) return `name is longer than ${MAX_GOODS_NAME_LENGTH} characters`;
  if (length(remarks) > REMARKS_MAX) return `remarks are longer than ${REMARKS_MAX} characters`;
  for (const [what, text] of [
    ['code', code],
    ['name', name],
    ['remarks', remarks],
  ] as const)
    if (UNSTORABLE.test(text)) return `${what} holds a NUL character or an unpaired UTF-16 surrogate`;
  if (!/^\d+$/.test(countText)) return `count must be a whole number of 0 or more (got ${JSON.stringify(countText.slice(0, 20))})`;
  const count = Number(countText);
  if (count > MAX_COUNT) return `count must be at most ${MAX_COUNT}`;
  return { line, code, name, remarks, count };
}

/** The event id of a line: the same content sent to the same directory is the same event. */
function eventIdOf(directoryId: number, line: ImportLine): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([directoryId, line.code, line.name, line.remarks, line.count]))
    .digest('hex');
  return `csv.${digest.slice(0, 56)}`;
}

type Stored = { name: string; remarks: string; count: number };

/** The stored name, remarks and count of these codes in the directory, by code hash. */
async function storedGoods(em: Em, directoryId: number, hashes: string[]): Promise<Map<string, Stored>> {
  const found = new Map<string, Stored>();
  for (let start = 0; start < hashes.length; start += 500) {
    const page = hashes.slice(start, start + 500);
    const rows = await em.execute<{ code_hash: string; name: string; remarks: string; count: number }[]>(
      `select code_hash, name, remarks, count from goods where directory_id = ? and code_hash in (${page.map(() => '?').join(', ')})`,
      [directoryId, ...page],
    );
    for (const row of rows) found.set(row.code_hash, { name: row.name, remarks: row.remarks, count: Number(row.count) });
  }
  return found;
}

/** Reads the file, then applies its good lines in file order; the bad ones are reported with their line. */
export async function importCsv(ctx: InventoryContext, actor: Actor, directoryId: number, text: string): Promise<ImportResult> {
  const required: Role = operations.importCsv.role;
  // Refused as a whole before anything is read (a viewer, a stranger), rather than line by line.
  await authorize(ctx.em, actor.userId, directoryId, required, 'an import');
  const result: ImportResult = { created: 0, updated: 0, unchanged: 0, errors: [] };
  const lines: ImportLine[] = [];
  let columns: Record<(typeof COLUMNS)[number], number> | null = null;
  let width = 0;
  for (const record of csvRecords(text.startsWith('\uFEFF') ? text.slice(1) : text)) {
    if (columns === null) {
      if ('error' in record) throw badRequest(`the header: ${record.error}`);
      columns = columnsOf(record.fields);
      width = record.fields.length;
      continue;
    }
    // A blank line (often the last) is no goods.
    if ('fields' in record && record.fields.length === 1 && record.fields[0].trim() === '') continue;
    if (lines.length + result.errors.length >= MAX_IMPORT_LINES) throw new AppError('payload_too_large', `more than ${MAX_IMPORT_LINES} lines of goods in one file; split it`);
    const parsed = 'error' in record ? record.error : lineOf(record.line, record.fields, columns, width);
    if (typeof parsed === 'string') result.errors.push({ line: record.line, message: parsed });
    else lines.push(parsed);
  }
  if (columns === null) throw badRequest('the file is empty: the first line must be the header code,name,remarks,count');

  const failures: { line: number; message: string }[] = [];
  for (let start = 0; start < lines.length; start += CHUNK) {
    const chunk = lines.slice(start, start + CHUNK);
    const stored = await storedGoods(ctx.em, directoryId, [...new Set(chunk.map((line) => codeHash(line.code)))]);
    const submitted: Promise<{ line: ImportLine; outcome: Outcome }>[] = [];
    for (const line of chunk) {
      const hash = codeHash(line.code);
      const before = stored.get(hash);
      // An empty name or remarks keeps the stored one.
      const after: Stored = { name: line.name || (before?.name ?? ''), remarks: line.remarks || (before?.remarks ?? ''), count: line.count };
      // Later lines of the same code see what the earlier ones will have made of it.
      stored.set(hash, after);
      if (before && before.name === after.name && before.remarks === after.remarks && before.count === after.count) {
        result.unchanged += 1;
        continue;
      }
      const eventId = eventIdOf(directoryId, line);
      const scan = { directoryId, eventId, op: 'set' as const, code: line.code, qty: line.count, ...(line.name ? { name: line.name } : {}), ...(line.remarks ? { remarks: line.remarks } : {}) };
      const request = { actor, directoryId, eventId, mutation: { kind: 'scan' as const, scan }, required };
      submitted.push(ctx.mutations.submit(request).then((outcome) => ({ line, outcome })));
    }
    for (const { line, outcome } of await Promise.all(submitted)) {
      if (!outcome.ok) failures.push({ line: line.line, message: outcome.error.message });
      else if (isReplay(outcome)) result.unchanged += 1;
      else if (outcome.value.kind === 'scan' && outcome.value.result.created) result.created += 1;
      else result.updated += 1;
    }
  }
  result.errors = [...result.errors, ...failures].sort((a, b) => a.line - b.line);
  return result;
}
