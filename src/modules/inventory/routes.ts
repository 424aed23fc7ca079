import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { principalOf, requireAuth } from '../../http/auth';
import type { Services } from '../../services';
import { exportCsv } from './csv';
import { createDirectory, deleteDirectory, findDirectory, listDirectories, renameDirectory } from './directories';
import { directoryWithGoods, editGoods, getGoods, removeGoods } from './goods';
import { changesSince, directoryLogs } from './history';
import { applyScan, applyScans } from './scan';
import { ChangesQuery, DirectoryParams, DirectoryQuery, GoodsEditBody, GoodsParams, LogsQuery, NameBody, ScanBody, SyncBody } from './schemas';
import type { Actor } from './views';
import type { FastifyRequest } from 'fastify';

function actorOf(request: FastifyRequest): Actor {
  const { userId, deviceId } = principalOf(request);
  return { userId, deviceId };
}

/** The inventory over HTTP (SPEC: HTTP API): each handler validates, calls the domain, and shapes the answer. */
export function inventoryRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addHook('preHandler', requireAuth(services));

    app.get('/api/directories', async (request) => ({ directories: await listDirectories(services.em(), actorOf(request).userId) }));

    app.post('/api/directories', { schema: { body: NameBody } }, async (request, reply) => {
      const directory = await createDirectory(services.inventory(), actorOf(request), request.body.name);
      return reply.status(201).send({ directory });
    });

    app.get('/api/directories/:id', { schema: { params: DirectoryParams, querystring: DirectoryQuery } }, async (request) =>
      directoryWithGoods(services.em(), actorOf(request).userId, request.params.id, request.query.q),
    );

    app.patch('/api/directories/:id', { schema: { params: DirectoryParams, body: NameBody } }, async (request) => ({
      directory: await renameDirectory(services.inventory(), actorOf(request), request.params.id, request.body.name),
    }));

    app.delete('/api/directories/:id', { schema: { params: DirectoryParams } }, async (request, reply) => {
      await deleteDirectory(services.inventory(), actorOf(request), request.params.id);
      return reply.status(204).send();
    });

    app.get('/api/directories/:id/goods/:code', { schema: { params: GoodsParams } }, async (request) => ({
      goods: await getGoods(services.em(), actorOf(request).userId, request.params.id, request.params.code),
    }));

    app.patch('/api/directories/:id/goods/:code', { schema: { params: GoodsParams, body: GoodsEditBody } }, async (request) => ({
      goods: await editGoods(services.inventory(), actorOf(request), request.params.id, request.params.code, request.body),
    }));

    app.delete('/api/directories/:id/goods/:code', { schema: { params: GoodsParams } }, async (request, reply) => {
      await removeGoods(services.inventory(), actorOf(request), request.params.id, request.params.code);
      return reply.status(204).send();
    });

    app.post('/api/directories/:id/scans', { schema: { params: DirectoryParams, body: ScanBody } }, async (request) =>
      applyScan(services.inventory(), actorOf(request), { ...request.body, directoryId: request.params.id }),
    );

    app.get('/api/directories/:id/changes', { schema: { params: DirectoryParams, querystring: ChangesQuery } }, async (request) =>
      changesSince(services.em(), actorOf(request).userId, request.params.id, request.query.since, services.config.changesReplayLimit),
    );

    app.get('/api/directories/:id/logs', { schema: { params: DirectoryParams, querystring: LogsQuery } }, async (request) =>
      directoryLogs(services.em(), actorOf(request).userId, request.params.id, request.query.before, request.query.limit ?? 50),
    );

    app.get('/api/directories/:id/export.csv', { schema: { params: DirectoryParams } }, async (request, reply) => {
      const em = services.em();
      const directory = await findDirectory(em, actorOf(request).userId, request.params.id);
      const filename = encodeURIComponent(`${directory.name}.csv`);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="export.csv"; filename*=UTF-8''${filename}`)
        .send(exportCsv(em, directory.id));
    });

    app.post('/api/sync', { schema: { body: SyncBody } }, async (request) => ({
      results: await applyScans(services.inventory(), actorOf(request), request.body.events),
    }));
  };
}
