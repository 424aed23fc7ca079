import { DEV_WECHAT_APPID } from '../../config';
import { startFakeWechat } from './fake-server';

/**
 * `npm run wechat:fake`: the fake of WeChat's jscode2session on its own, for servers in other processes
 * (npm run dev:env, compose.yaml) to share, so that the same code is the same user whichever instance
 * logs it in. A server in dev mode uses it with WECHAT_API_BASE set to the address printed here.
 *
 *   WECHAT_FAKE_PORT (3901; 0 for one from the OS), HOST (127.0.0.1), WECHAT_APPID and WECHAT_SECRET
 *   (the dev login's own, which a server without credentials uses)
 */
async function main(): Promise<void> {
  const port = Number(process.env.WECHAT_FAKE_PORT ?? 3901);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`WECHAT_FAKE_PORT must be a port, got "${process.env.WECHAT_FAKE_PORT}"`);
  const fake = await startFakeWechat({
    appId: process.env.WECHAT_APPID || DEV_WECHAT_APPID,
    secret: process.env.WECHAT_SECRET || 'dev-secret',
    host: process.env.HOST || '127.0.0.1',
    port,
  });
  process.stdout.write(`fake WeChat listening at ${fake.apiBase} (appid ${fake.appId}): start servers with WECHAT_API_BASE=${fake.apiBase}\n`);
  const stop = () => void fake.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  const code = (error as { code?: unknown }).code;
  process.stderr.write(
    `scancode: fake WeChat: ${code === 'EADDRINUSE' ? `WECHAT_FAKE_PORT ${process.env.WECHAT_FAKE_PORT ?? 3901} is already in use` : error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
