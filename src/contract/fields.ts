import { Type, type Static } from '@sinclair/typebox';
import { EVENT_ID_PATTERN, MAX_EVENT_ID_LENGTH } from './constants';

/**
 * The fields every wire shape is built from (HTTP bodies, `POST /api/sync` events, WebSocket frames).
 * Each carries its limits once; a `description` on a pattern is what a refusal says the value must be.
 */

/**
 * Text the server stores: anything but NUL (SQLite's C strings and many tools end text there) and
 * UTF-16 surrogates that are not part of a pair (they have no UTF-8 form, so they could only be stored
 * as U+FFFD, i.e. changed). Every other character, control characters such as GS1's U+001D included,
 * is stored exactly. (Validators run patterns in Unicode mode, where a paired surrogate is one code
 * point outside this class.)
 */
export const STORED_TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$';
const STORED_TEXT = 'text without NUL characters or unpaired UTF-16 surrogates';

/** `examples` are what /docs fills in ("Try it out"), rather than text generated from the pattern. */
const storedText = (options: { minLength?: number; maxLength: number; description?: string; examples: string[] }) =>
  Type.String({ ...options, pattern: STORED_TEXT_PATTERN, description: options.description ?? STORED_TEXT });

export { EVENT_ID_PATTERN } from './constants';
const EVENT_ID = '1 to 64 characters of A-Z a-z 0-9 . _ : -';
/** A client-chosen idempotency key, scoped to the user. */
export const EventId = Type.String({ minLength: 1, maxLength: MAX_EVENT_ID_LENGTH, pattern: EVENT_ID_PATTERN, description: EVENT_ID, examples: ['phone-1:42'] });

/**
 * What wx.login() returns (32 letters and digits today): printable ASCII, no spaces. Anything else cannot
 * be a code, and a lone surrogate could not even be sent on to WeChat (it was answered 502).
 */
export const LOGIN_CODE_PATTERN = '^[!-~]+$';
const LOGIN_CODE = 'printable ASCII without spaces, as wx.login() returns it';
export const LoginCode = Type.String({ minLength: 1, maxLength: 256, pattern: LOGIN_CODE_PATTERN, description: 'the code from wx.login()', examples: ['0a3Xk7ll2pLcVc4Bq1ml2wGnQs3Xk7lq'] });

/**
 * An avatar is shown as an image by every client: only an http(s) URL, or empty for none. A
 * `javascript:` or `data:` URL was stored and served as it was.
 */
export const WEB_URL_PATTERN = '^(https?://[^\\s\\u0000\\uD800-\\uDFFF]+)?$';
const WEB_URL = 'empty, or an http:// or https:// URL without spaces';

/** What a value refused by each pattern must be, for refusals (`eventId must be 1 to 64 characters of ...`). */
export const PATTERN_RULES: Record<string, string> = {
  [STORED_TEXT_PATTERN]: STORED_TEXT,
  [EVENT_ID_PATTERN]: EVENT_ID,
  [LOGIN_CODE_PATTERN]: LOGIN_CODE,
  [WEB_URL_PATTERN]: WEB_URL,
};

/** Any QR code: up to 7,089 digits (or 4,296 characters). */
export const MAX_CODE_LENGTH = 7089;
/** The scanned text of a barcode or QR code, compared exactly; a trailing CR/LF is dropped. */
export const GoodsCode = storedText({ minLength: 1, maxLength: MAX_CODE_LENGTH, examples: ['6901234567892'] });
/** 140: what WeChat's input field allows. */
export const MAX_GOODS_NAME_LENGTH = 140;
export const GoodsName = storedText({ maxLength: MAX_GOODS_NAME_LENGTH, examples: ['矿泉水 550ml'] });
export const Remarks = storedText({ maxLength: 1000, examples: ['货架 B-3'] });
/** Trimmed by the server; 1–100 characters after trimming. */
export const DirectoryName = storedText({ minLength: 1, maxLength: 100, examples: ['仓库A'] });
export const Nickname = storedText({ maxLength: 100, examples: ['小明'] });
export const AvatarUrl = Type.String({ maxLength: 1000, pattern: WEB_URL_PATTERN, description: WEB_URL, examples: ['https://thirdwx.qlogo.cn/mmopen/vi_32/avatar/132'] });
/** A search in a directory's goods: stored text too, since it is compared with stored text (a NUL could never match). */
export const SearchText = storedText({ maxLength: 512, description: 'keeps goods whose code or name contains it, ignoring case', examples: ['6901234'] });

export const MAX_QTY = 1_000_000;
export const DirectoryId = Type.Integer({ minimum: 1, maximum: 2_147_483_647, examples: [1] });
export const Revision = Type.Integer({ minimum: 0 });
/** An ISO 8601 time in UTC, with milliseconds. */
export const Timestamp = Type.String({ format: 'date-time' });
/** Any request but `scan` may use a string or an integer id; a scan's id is its event id. */
export const RequestId = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer()]);
export type RequestId = Static<typeof RequestId>;
