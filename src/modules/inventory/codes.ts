import { createHash } from 'node:crypto';
import { badRequest } from '../../errors';

/**
 * Goods are keyed by the SHA-256 of their code's UTF-8 bytes: a code may be any QR code (7,089
 * characters, longer than any index allows), and must compare byte for byte on every database
 * (MySQL's utf8mb4_bin would take 'PAD-1 ' for 'PAD-1').
 */
export function codeHash(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/**
 * A scanned code as stored: the CR/LF that keyboard-wedge scanners append is dropped; every other
 * character is kept. Applied by the domain to every code it is given, whatever the transport.
 */
export function goodsCode(scanned: string): string {
  const code = scanned.replace(/[\r\n]+$/, '');
  if (code === '') throw badRequest('code must not be empty (a trailing CR/LF is not part of it)');
  return code;
}
