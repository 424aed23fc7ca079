import { checkWebhookUrl, isPublicAddress } from '../../../src/modules/webhooks/addresses';
import { retryDelay } from '../../../src/modules/webhooks/worker';
import { signature } from '../../../src/modules/webhooks/send';
import { createHmac } from 'node:crypto';

/** SPEC "Webhooks", without a server: which targets are refused, the retry gaps and the signature. */
describe('webhook targets', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    'fc12::3',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a00:1',
    '::127.0.0.1',
    '[::1]',
    'fe80::1%eth0',
    'not-an-ip',
  ])('%s is refused', (address) => expect(isPublicAddress(address)).toBe(false));

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => expect(isPublicAddress(address)).toBe(true));

  const resolveTo = (addresses: string[]) => async () => addresses;
  it.each([
    ['http://127.0.0.1/hook', []],
    ['http://10.0.0.1/hook', []],
    ['http://[::1]:8080/hook', []],
    ['http://0x7f.1/hook', []], // 127.0.0.1 in another spelling
    ['http://2130706433/hook', []],
    ['http://shop.example/hook', ['127.0.0.1']],
    ['https://shop.example/hook', ['93.184.216.34', '10.1.2.3']], // one private answer is enough
    ['https://shop.example/hook', ['fe80::2']],
  ])('%s (resolving to %j) is refused with bad_request', async (url, addresses) => {
    await expect(checkWebhookUrl(url, false, resolveTo(addresses))).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('refuses what is no http(s) URL, a URL with credentials and a name that does not resolve', async () => {
    for (const url of ['ftp://93.184.216.34/x', 'file:///etc/passwd', 'http://user:pw@93.184.216.34/', 'nonsense']) {
      await expect(checkWebhookUrl(url, false, resolveTo(['93.184.216.34']))).rejects.toMatchObject({ code: 'bad_request' });
    }
    await expect(checkWebhookUrl('https://nowhere.example/', false, async () => Promise.reject(new Error('ENOTFOUND')))).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('accepts a public target, and any target with WEBHOOK_ALLOW_PRIVATE', async () => {
    await expect(checkWebhookUrl('https://shop.example/hook', false, resolveTo(['93.184.216.34']))).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl('http://127.0.0.1:9/hook', true)).resolves.toBeInstanceOf(URL);
  });
});

describe('retries', () => {
  it('double from the base up to 10 minutes', () => {
    const options = { retryBaseMs: 2000, maxDelayMs: 600_000 };
    expect([1, 2, 3, 4].map((attempts) => retryDelay(attempts, options))).toEqual([2000, 4000, 8000, 16000]);
    expect(retryDelay(9, options)).toBe(512_000);
    expect(retryDelay(10, options)).toBe(600_000);
    expect(retryDelay(500, options)).toBe(600_000);
  });
});

describe('the signature', () => {
  it('is sha256=<hex HMAC-SHA256 of the body with the secret>', () => {
    const body = '{"directoryId":1,"revision":2,"change":{}}';
    expect(signature(body, 'a-secret-of-16-chars')).toBe(`sha256=${createHmac('sha256', 'a-secret-of-16-chars').update(body).digest('hex')}`);
  });
});
