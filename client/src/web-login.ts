import { WEB_LOGIN_QR_PREFIX } from './contract';
import { ScancodeError } from './errors';

/** A web login's id: what the server makes (base64url) and accepts (1–64 characters). */
const WEB_LOGIN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The login id in a text read from the dashboard's QR code (`scancode:weblogin:<id>`), or null for any
 * other text: a phone's scan button tells a dashboard login from a goods code or an invite with it.
 */
export function webLoginId(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.indexOf(WEB_LOGIN_QR_PREFIX) !== 0) return null;
  const id = trimmed.slice(WEB_LOGIN_QR_PREFIX.length);
  return WEB_LOGIN_ID.test(id) ? id : null;
}

/** The id in a scanned `scancode:weblogin:<id>` text, or an id as it is; anything else is refused here, before any request. */
export function webLoginIdOf(qrOrId: string): string {
  const id = webLoginId(qrOrId) ?? qrOrId.trim();
  if (!WEB_LOGIN_ID.test(id)) throw new ScancodeError('not_a_web_login', `not a scancode web login: ${qrOrId.trim().slice(0, 40)}`);
  return id;
}
