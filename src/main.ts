import closeWithGrace from 'close-with-grace';
import { buildApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { startFakeWechat, type FakeWechat } from './modules/wechat/fake-server';

/** The entry point: read config, start the dev WeChat fake if needed, build, listen, shut down cleanly. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`scancode: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  let fake: FakeWechat | null = null;
  if (config.wechat.devLogin && config.wechat.apiBase === null) {
    fake = await startFakeWechat({ appId: config.wechat.appId, secret: config.wechat.secret });
    config = { ...config, wechat: { ...config.wechat, apiBase: fake.apiBase } };
  }

  const app = await buildApp(config);
  if (config.wechat.devLogin) {
    app.log.warn(
      { wechatApiBase: config.wechat.apiBase },
      '*** DEV LOGIN: no WECHAT_APPID/WECHAT_SECRET, so logins go to a fake WeChat; any code such as "dev-alice" logs in. Never use this in production. ***',
    );
  }

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    await app.close();
    await fake?.close();
  });

  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  process.stderr.write(`scancode: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
