import { createHash } from 'node:crypto';
import { MAX_CODE_LENGTH } from '../../contract';
import type { Anomaly, OldTable } from './plan-model';

/**
 * The new rules for stored text, applied to old rows. The old tables hold text the server would refuse;
 * each fix made here is reported (the caller decides whether the row is written, and only then reports).
 */

export const MAX_DIRECTORY_NAME = 100;
export const MAX_GOODS_NAME = 140;
export const MAX_REMARKS = 1000;
/** nickname, city and province: the users table's columns. */
export const MAX_PROFILE_TEXT = 100;

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const codePoints = (text: string) => [...text].length;
const quote = (text: string) => JSON.stringify(text.length > 40 ? `${[...text].slice(0, 40).join('')}…` : text);

/** A short, stable digest of old text, so `legacy_imports` can tell whether it changed since. */
export function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
}

/**
 * A '?' in old text is suspect: the old app's MySQL connection was utf8 (3 bytes), and an emoji sent
 * through it was stored as '?'. What was lost cannot be recovered, so the text is kept and reported.
 * In a URL the first '?' starts the query and is expected.
 */
export function looksLikeLostEmoji(text: string): boolean {
  if (!text.includes('?')) return false;
  const url = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^?]*\?[^?]*$/.test(text);
  return !url;
}

/** Collects the fixes made to one row's text, to be reported if the row is written. */
export class Fixes {
  readonly anomalies: Anomaly[] = [];
  constructor(
    readonly table: OldTable,
    readonly oldId: number,
  ) {}

  note(problem: Anomaly['problem'], detail: string): void {
    this.anomalies.push({ table: this.table, oldId: this.oldId, problem, detail });
  }

  /** NUL and unpaired surrogates become U+FFFD (no database keeps them as they are), then truncated to `max`. */
  text(field: string, value: string, max: number): string {
    let text = value.replace(UNSTORABLE, '\uFFFD');
    if (text !== value) this.note('replaced', `${field}: NUL or unpaired surrogate replaced with U+FFFD`);
    if (codePoints(text) > max) {
      text = [...text].slice(0, max).join('');
      this.note('truncated', `${field} longer than ${max} characters, truncated to ${quote(text)}`);
    }
    if (looksLikeLostEmoji(text)) this.note('suspect', `${field} ${quote(text)} contains '?' (an emoji lost by the old utf8 connection?); kept as is`);
    return text;
  }

  /** The stored code, or null when no scan could ever find it again (empty, or longer than any QR code). */
  code(value: string): string | null {
    // The same rule as the server's goodsCode(): the CR/LF a keyboard-wedge scanner appends is not part of it.
    const stripped = value.replace(/[\r\n]+$/, '');
    if (stripped === '') {
      this.note('skipped', 'code is empty: no scan can find it; not imported');
      return null;
    }
    if (codePoints(stripped) > MAX_CODE_LENGTH) {
      this.note('skipped', `code is ${codePoints(stripped)} characters, more than any QR code (${MAX_CODE_LENGTH}); not imported`);
      return null;
    }
    return this.text('code', stripped, MAX_CODE_LENGTH);
  }

  /** Trimmed, storable, 1–100 characters; an empty one gets a name of its own. */
  directoryName(value: string): string {
    const trimmed = value.trim();
    let name = this.text('name', trimmed, MAX_DIRECTORY_NAME).trim();
    if (name === '') {
      name = `未命名仓库${this.oldId}`;
      this.note('empty-name', `name ${quote(value)} is empty after trimming; named ${name}`);
    } else if (trimmed !== value) {
      this.note('trimmed', `name ${quote(value)} stored trimmed as ${quote(name)}`);
    }
    return name;
  }
}

/** `name`, or `name (2)`, `name (3)`… : the first not among the owner's live names. */
export function uniqueName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  for (let n = 2; ; n++) {
    const suffix = ` (${n})`;
    const base = [...name].slice(0, MAX_DIRECTORY_NAME - suffix.length).join('');
    if (!taken.has(base + suffix)) return base + suffix;
  }
}

/** WeChat's gender: 1 male, 2 female, 0 unknown. */
export function gender(value: string): number {
  return value === '1' ? 1 : value === '2' ? 2 : 0;
}
