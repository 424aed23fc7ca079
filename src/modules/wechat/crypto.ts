import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors';

/** The user fields WeChat puts in `encryptedData` (and `rawData`). */
export interface WechatProfile {
  openId?: string;
  unionId?: string;
  nickName?: string;
  avatarUrl?: string;
  gender?: number;
  city?: string;
  province?: string;
  country?: string;
  language?: string;
  watermark?: { appid?: string; timestamp?: number };
}

const decryptFailed = (why: string) => new AppError('decrypt_failed', `encryptedData could not be decrypted: ${why}`);

function base64Bytes(value: string, expectedLength?: number): Buffer {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw decryptFailed('not base64');
  const bytes = Buffer.from(value, 'base64');
  if (expectedLength !== undefined && bytes.length !== expectedLength) throw decryptFailed(`expected ${expectedLength} bytes`);
  return bytes;
}

/**
 * WeChat's encryptedData: AES-128-CBC with the session key, PKCS#7 padding, JSON inside, and a
 * watermark naming the app it was made for; data made for another app is refused.
 */
export function decryptUserData(encryptedData: string, iv: string, sessionKey: string, appId: string): WechatProfile {
  const key = base64Bytes(sessionKey, 16);
  const ivBytes = base64Bytes(iv, 16);
  const cipherText = base64Bytes(encryptedData);
  let plain: string;
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, ivBytes);
    plain = Buffer.concat([decipher.update(cipherText), decipher.final()]).toString('utf8');
  } catch {
    throw decryptFailed('bad padding');
  }
  let data: unknown;
  try {
    data = JSON.parse(plain);
  } catch {
    throw decryptFailed('not JSON');
  }
  if (typeof data !== 'object' || data === null) throw decryptFailed('not an object');
  const profile = data as WechatProfile;
  if (profile.watermark?.appid !== appId) throw decryptFailed('watermark names another app');
  return profile;
}

/** WeChat's rawData check: signature = sha1(rawData + session_key). */
export function verifyRawData(rawData: string, signature: string, sessionKey: string): WechatProfile {
  const expected = createHash('sha1')
    .update(rawData + sessionKey)
    .digest();
  const given = /^[0-9a-f]{40}$/i.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AppError('decrypt_failed', 'signature does not match rawData and the session key');
  }
  try {
    const data: unknown = JSON.parse(rawData);
    return typeof data === 'object' && data !== null ? (data as WechatProfile) : {};
  } catch {
    throw new AppError('bad_request', 'rawData must be JSON');
  }
}
