import { createCipheriv, createHash } from 'node:crypto';
import { fakeSessionKey } from '../../src/modules/wechat/fake-server';

/** Encrypts a profile the way WeChat does (AES-128-CBC, PKCS#7) for the session key of a fake code. */
export function encryptProfile(code: string, profile: object, iv = Buffer.alloc(16, 7)): { encryptedData: string; iv: string } {
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(fakeSessionKey(code), 'base64'), iv);
  const encryptedData = Buffer.concat([cipher.update(JSON.stringify(profile), 'utf8'), cipher.final()]).toString('base64');
  return { encryptedData, iv: iv.toString('base64') };
}

export function signRawData(code: string, rawData: string): string {
  return createHash('sha1')
    .update(rawData + fakeSessionKey(code))
    .digest('hex');
}
