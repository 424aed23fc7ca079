import Fastify, { type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import websocket from '@fastify/websocket';
import type { Config } from './config';
import { openDatabase, type Orm } from './db/orm';
import { formOrJson } from './http/body';
import { toErrorBody } from './http/errors';
import { healthRoutes } from './http/health';
import { rootRoute } from './http/root';
import { dashboardRoutes } from './modules/dashboard/routes';
import { authRoutes } from './modules/auth/routes';
import { webLoginRoutes } from './modules/weblogin/routes';
import { legacyLoginRoute } from './modules/auth/legacy';
import { operationRoutes } from './http/operations';
import { legacyInventoryRoutes } from './modules/inventory/legacy';
import { InProcessBus, type Bus } from './modules/realtime/bus';
import { RedisBus } from './modules/realtime/redis-bus';
import { MAX_FRAME_BYTES, RealtimeGateway, type RealtimeOptions } from './modules/realtime/gateway';
import { createWechatClient, type WechatClient } from './modules/wechat/client';
import { publishMetrics } from './plugins/metrics';
import { publishOpenapi } from './plugins/openapi';
import { LimitRefusals, limitRequests } from './plugins/rate-limit';
import { answerWithRequestIds, genReqId } from './plugins/request-id';
import { RequestLog, recordRefusals, requestLogSerializers } from './plugins/request-log';
import { MAX_CODE_LENGTH } from './contract';
import { edgeOptions, refuseWhileClosing } from './plugins/edges';
import { Services } from './services';
import { createAjv, describeErrors } from './validation';

/** What a caller may supply instead of what the config describes (tests share a database or a bus). */
export interface AppDeps {
  orm?: Orm;
  bus?: Bus;
  wechat?: WechatClient;
  now?: () => Date;
  /** Where log lines go (default stdout); tests read them to prove that no secret is logged. */
  logStream?: NodeJS.WritableStream;
  /** The WebSocket gateway's limits (auth timeout, queued bytes): tests make them small. */
  realtime?: Partial<RealtimeOptions>;
  /** The built dashboard served at /app/ (default dist/web of the project): tests point it elsewhere. */
  dashboardFolder?: string;
}

const BODY_LIMIT = 1024 * 1024;
// A goods code travels percent-encoded in the path, up to 12 characters per 4-byte character; the
// router's default limit of 100 answered 414 to any code longer than that.
const MAX_PARAM_LENGTH = MAX_CODE_LENGTH * 12;

/**
 * Builds the whole server without listening: `src/main.ts` listens, tests use `inject` or port 0.
 * Resources it opened itself (database, bus) are closed with the app.
 */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  if (!deps.wechat && config.wechat.apiBase === null) throw new Error('WECHAT_API_BASE is not set (main starts the dev fake first)');
  const orm = deps.orm ?? (await openDatabase(config.database));
  const bus = deps.bus ?? (config.redisUrl ? await RedisBus.connect({ url: config.redisUrl, channel: config.redisChannel, secrets: config.busSecret.keys }) : new InProcessBus());
  const wechat = deps.wechat ?? createWechatClient({ ...config.wechat, apiBase: config.wechat.apiBase as string });

  const refusals = new LimitRefusals();
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Tokens and WeChat session keys must never reach a log line.
      redact: ['req.headers.authorization', '*.token', '*.sessionKey', '*.session_key', '*.cookie'],
      serializers: requestLogSerializers,
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    // One readable line per request, with its outcome, in place of fastify's two.
    logController: new RequestLog(),
    bodyLimit: BODY_LIMIT,
    // One message style for every refusal: the field first, then what it must be.
    schemaErrorFormatter: (errors, dataVar) => new Error(describeErrors(errors, dataVar)),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Only the proxies TRUST_PROXY names may set the client's address (X-Forwarded-For) and scheme.
    trustProxy: config.trustProxy,
    genReqId,
    ...edgeOptions({ bodyTimeoutMs: config.limits.bodyTimeoutMs, timedOut: () => refusals.count('body_timeout') }),
  });
  answerWithRequestIds(app);
  recordRefusals(app);
  refuseWhileClosing(app);
  if (bus instanceof RedisBus && !deps.bus) bus.onError = (error) => app.log.warn({ err: error }, 'redis bus error');
  if (bus instanceof RedisBus && !deps.bus && config.busSecret.dev)
    app.log.warn('BUS_SECRET is not set: the Redis bus signs with a fixed development key, which anyone can read in the source (required when NODE_ENV=production)');
  const services = new Services(config, orm, bus, wechat, deps.now ?? (() => new Date()), app.log);
  app.decorate('services', services);
  app.decorateRequest('principal', null);

  // Bodies are never coerced: a number where a string belongs is a 400 naming the field. Params and
  // query strings arrive as text and are coerced to the schema's types.
  const bodyAjv = createAjv({ coerce: false });
  const textAjv = createAjv({ coerce: true });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema));

  // fastify's own JSON parser (secure-json-parse refuses __proto__ and constructor.prototype), except
  // that an empty body with a JSON content type is an empty request, not an error (POST /api/logout).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    // The callback form of the parser: it answers through `done`, never through a promise.
    void parseJson(request, body as string, done);
  });
  // A JSON object sent with curl's default form type is read as JSON (src/http/body.ts).
  await app.register(formbody, { bodyLimit: BODY_LIMIT, parser: formOrJson });
  // Before any route, so that an upgrade to a route other than /ws is refused; the gateway closes its
  // sockets with 1001 at shutdown instead of the plugin's bare close.
  const gateway = new RealtimeGateway(services, deps.realtime, (limit) => refusals.count(limit));
  // No permessage-deflate (ws's default for a server, said here): a zlib context per socket costs tens of
  // kilobytes, and a change frame is a few hundred bytes.
  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false }, preClose: gateway.preClose, errorHandler: gateway.onSocketError });

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toErrorBody(error, request.log);
    return reply.status(status).send({ error: body });
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }));

  // Before the routes: the document is built from the routes registered after it, and the limits
  // are given to the routes registered after them.
  await publishOpenapi(app);
  await publishMetrics(app, gateway, refusals);
  await limitRequests(app, config, refusals, services.refusedTokens);
  await app.register(healthRoutes(services));
  await app.register(rootRoute);
  // The web dashboard at /app/, when it has been built (npm run web:build; npm start builds it).
  await app.register(dashboardRoutes({ devLogin: config.wechat.devLogin, folder: deps.dashboardFolder }));
  await app.register(authRoutes(services));
  await app.register(webLoginRoutes(services));
  // Every operation of the operation table that lives on HTTP (src/contract/operations.ts).
  await app.register(operationRoutes(services));
  // The seed's app calls https://<host>/scan/login/ and so on; behind a proxy that strips the prefix it
  // calls /login/: both answer.
  for (const prefix of new Set(['', config.legacyPrefix])) {
    await app.register(legacyLoginRoute(services), { prefix });
    await app.register(legacyInventoryRoutes(services), { prefix });
  }
  await app.register(gateway.routes);

  // Webhooks are delivered while the app runs; at close their leases are released for another instance.
  app.addHook('onReady', async () => services.webhooks.start());
  app.addHook('preClose', async () => services.webhooks.stop());
  app.addHook('onClose', async () => {
    if (!deps.bus) await bus.close();
    if (!deps.orm) await orm.close();
  });
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}
