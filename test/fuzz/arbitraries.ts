import fc from 'fast-check';
import { ERROR_STATUS } from '../../src/contract';

/**
 * Hostile values for the fuzz suites: what a buggy or malicious phone could put where the contract
 * expects a field. Values that depend on the running server (a live token, a live directory id) are
 * placeholders, put in at send time by `fill`, so that a case generated once reads the same in a
 * failure report as what was sent.
 */

/** One seed for every fuzz suite: a failure is reproduced by running the suite again. */
export const SEED = 20261125;

export const TOKEN = '@@TOKEN@@';
export const OTHER_TOKEN = '@@OTHER_TOKEN@@';
export const DIR = '@@DIR@@';
export const OTHER_DIR = '@@OTHER_DIR@@';
export const DIR_NAME = '@@DIR_NAME@@';

/** What the placeholders stand for right now. */
export interface Live {
  token: string;
  otherToken: string;
  dir: number;
  otherDir: number;
  dirName: string;
}

/** Puts the live values in: a quoted id placeholder becomes a JSON number, everything else text. */
export function fill(text: string, live: Live): string {
  return text
    .replaceAll(`"${DIR}"`, String(live.dir))
    .replaceAll(`"${OTHER_DIR}"`, String(live.otherDir))
    .replaceAll(DIR, String(live.dir))
    .replaceAll(OTHER_DIR, String(live.otherDir))
    .replaceAll(OTHER_TOKEN, live.otherToken)
    .replaceAll(TOKEN, live.token)
    .replaceAll(DIR_NAME, live.dirName);
}

/** Codes the suites scan in beforehand, so that some cases hit goods that exist. */
export const KNOWN_CODES = ['6901234567892', 'QR https://x.cn/a?b=1&c=%zz', '码/斜杠', 'EMPTY'];

const LONE_SURROGATES = ['\uD800', '\uDBFF', '\uDC00', '\uDFFF'];

/** Text meant to break things: NUL, lone surrogates, BOMs, escapes, boundaries of the length limits. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_CODES) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '  默认 ',
      '默认',
      '\u0000',
      'a\u0000b',
      ...LONE_SURROGATES,
      'x\uD800y',
      '\uFEFF',
      '𝌆',
      '\r\n',
      'CODE\r\n',
      '\u001D01',
      '../../etc/passwd',
      '%',
      '%zz',
      '%E0%A4%A',
      '%00',
      '{}',
      '[]',
      'null',
      'true',
      '__proto__',
      'constructor',
      'prototype',
      '<script>alert(1)</script>',
      "' OR 1=1 --",
      '=HYPERLINK("x")',
      '\\',
      '"',
      '\u202E',
      'ﷺ',
      'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
      DIR_NAME,
      TOKEN,
    ),
  },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
  {
    weight: 2,
    arbitrary: fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 3 }), fc.constantFrom(...LONE_SURROGATES, '\u0000', '\uFFFF', '\uFFFE')), { maxLength: 8 }).map((parts) => parts.join('')),
  },
  // Around the limits: 64 (event ids), 100, 140, 256, 512, 1000, 7089 (codes).
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(63, 64, 65, 100, 101, 140, 141, 256, 257, 512, 513, 1000, 1001, 7089, 7090, 9000), fc.constantFrom('x', 'é', '码', '𝌆', '\u0000'))
      .map(([n, c]) => c.repeat(n)),
  },
);

/** Event ids and request ids, valid and not. */
export const eventIdish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/) },
  { weight: 1, arbitrary: fc.constantFrom('fuzz:1', 'fuzz:1', 'fuzz:2', 'a'.repeat(64), 'a'.repeat(65), '', 'has space', 'é', '\u0000') },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 53, 2 ** 53 + 2, 1e300, -0, 1.5)) },
);

/** Numbers where integers within limits belong: negative, fractional, beyond 2^31, 2^53, 1e308. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, -1, 2, 5, 999_999, 1_000_000, 1_000_001, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, 0.5, 1.5, -0, Number.MIN_VALUE),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const hostileKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'id', 'type', 'qty', 'quantity', 'op', 'code', 'events', '\u0000', '\uD800'),
  hostileString,
);

/** Any JSON-able junk, nested a few levels, with keys such as `__proto__`. */
export const junk: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** How a valid-ish object is spoiled: one key changed, dropped or added, or the whole replaced. */
type Mutation = { kind: 'set'; key: string | null; value: unknown } | { kind: 'drop'; index: number } | { kind: 'add'; key: string; value: unknown } | { kind: 'replace'; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.constant(null), value: junk }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), index: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add' as const), key: hostileKey, value: junk }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), value: junk }) },
);

function apply(value: unknown, change: Mutation, pick: number): unknown {
  if (change.kind === 'replace') return change.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) Object.defineProperty(copy, key, { value: inner, enumerable: true, writable: true, configurable: true });
  const keys = Object.keys(copy);
  if (change.kind === 'drop') {
    if (keys.length > 0) delete copy[keys[change.index % keys.length]];
  } else {
    const key = change.kind === 'add' ? change.key : keys.length > 0 ? keys[pick % keys.length] : 'x';
    // defineProperty: `copy.__proto__ = x` would set the prototype instead of a key that JSON shows.
    Object.defineProperty(copy, key, { value: change.value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** A valid value, as is most of the time, else spoiled by up to three mutations. */
export function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    {
      weight: 5,
      arbitrary: fc
        .tuple(valid, fc.array(fc.tuple(mutation, fc.nat()), { minLength: 1, maxLength: 3 }))
        .map(([value, changes]) => changes.reduce((current, [change, pick]) => apply(current, change, pick), value)),
    },
  );
}

/** A goods code as a test would send it: a known one mostly, else anything. */
export const codeish = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...KNOWN_CODES) }, { weight: 3, arbitrary: hostileString });
export const dirIdish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.constant(DIR) },
  { weight: 1, arbitrary: fc.constant(OTHER_DIR) },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: junk },
);

/** A scan as the contract allows it (op, code, qty, name, remarks), before mutation. */
export const validScanFields = fc.record(
  {
    op: fc.constantFrom('in', 'out', 'set'),
    code: codeish,
    qty: fc.integer({ min: 0, max: 1_000_000 }),
    name: fc.string({ maxLength: 10 }),
    remarks: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: ['op', 'code'] },
);

/** JSON text of a value; sometimes spoiled as text: cut short, a `__proto__` key in front, trailing junk. */
export const jsonText = (value: fc.Arbitrary<unknown>, spoiledPer20 = 6): fc.Arbitrary<string> =>
  fc
    .tuple(
      value,
      fc.oneof(
        { weight: 20 - spoiledPer20, arbitrary: fc.constant('as-is') },
        { weight: spoiledPer20, arbitrary: fc.constantFrom('truncated', 'proto', 'constructor', 'trailing', 'duplicate-key', 'bom') },
      ),
    )
    .map(([v, spoil]) => {
      const text = JSON.stringify(v) ?? 'undefined';
      switch (spoil) {
        case 'truncated':
          return text.slice(0, Math.max(0, text.length - 1));
        case 'proto':
          return text.startsWith('{') && text !== '{}' ? `{"__proto__":{"isAdmin":true},${text.slice(1)}` : '{"__proto__":{"isAdmin":true}}';
        case 'constructor':
          return '{"constructor":{"prototype":{"isAdmin":true}}}';
        case 'trailing':
          return `${text},`;
        case 'duplicate-key':
          return text.startsWith('{') && text !== '{}' ? `{"op":"in","op":"out",${text.slice(1)}` : text;
        case 'bom':
          return `\uFEFF${text}`;
        case 'as-is':
        default:
          return text;
      }
    });

/** A body that is not JSON at all. */
export const garbageText = fc.oneof(
  fc.constantFrom('', ' ', '{', '}', '{"a":', 'nul', 'NaN', '[1,]', "{'a':1}", '{"a":1}{"b":2}', '\u0000', '\uD800', '1e99999', '-', '"\\u12"', '"\\uD800"', '{"a":"\\x41"}'),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

// ---- checking answers ----

const CODES = new Set(Object.keys(ERROR_STATUS));

/**
 * Why an HTTP error body is not SPEC's `{error: {code, message, ...}}` with a code of the contract whose
 * status is the answer's status; null when it is.
 */
export function specErrorProblem(status: number, body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body is not a JSON object';
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null || Array.isArray(error)) return '`error` is not an object';
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !CODES.has(code)) return `error.code ${JSON.stringify(code)} is not a code of src/contract/errors.ts`;
  if (typeof message !== 'string') return 'error.message is not a string';
  const expected = ERROR_STATUS[code as keyof typeof ERROR_STATUS];
  if (expected !== status) return `error.code ${code} is status ${expected}, answered with ${status}`;
  return null;
}

/** Why a `/ws` error (in an ack or an error frame) is not SPEC's `{code, message}`; null when it is. */
export function wsErrorProblem(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return 'the error is not an object';
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || !CODES.has(code)) return `code ${JSON.stringify(code)} is not a code of src/contract/errors.ts`;
  if (typeof message !== 'string') return 'message is not a string';
  if (code === 'internal') return 'internal: the server failed on this frame';
  return null;
}
