import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { api } from '../../contract';
import { principalOf, requireAuth } from '../../http/auth';
import type { Services } from '../../services';
import { exportCsv } from './csv';
import { createDirectory, deleteDirectory, findDirectory, listDirectories, renameDirectory } from './directories';
import { directoryWithGoods, editGoods, getGoods, removeGoods } from './goods';
import { changesSince, directoryLogs } from './history';
import { applyScan, applyScans } from './scan';
import type { Actor } from './views';

function actorOf(request: FastifyRequest): Actor {
  const { userId, deviceId } = principalOf(request);
  return { userId, deviceId };
}

/** The inventory over HTTP: each route's schemas come from the contract; the handler calls the domain. */
export function inventoryRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addHook('preHandler', requireAuth(services));
    const { listDirectories: list, createDirectory: create, getDirectory, renameDirectory: rename, deleteDirectory: remove } = api;

    app.get(list.url, { schema: list.schema }, async (request) => ({ directories: await listDirectories(services.em(), actorOf(request).userId) }));

    app.post(create.url, { schema: create.schema }, async (request, reply) => {
      const directory = await createDirectory(services.inventory(), actorOf(request), request.body.name);
      return reply.status(201).send({ directory });
    });

    app.get(getDirectory.url, { schema: getDirectory.schema }, async (request) =>
      directoryWithGoods(services.em(), actorOf(request).userId, request.params.id, request.query.q),
    );

    app.patch(rename.url, { schema: rename.schema }, async (request) => ({
      directory: await renameDirectory(services.inventory(), actorOf(request), request.params.id, request.body.name),
    }));

    app.delete(remove.url, { schema: remove.schema }, async (request, reply) => {
      await deleteDirectory(services.inventory(), actorOf(request), request.params.id);
      return reply.status(204).send();
    });

    app.get(api.getGoods.url, { schema: api.getGoods.schema }, async (request) => ({
      goods: await getGoods(services.em(), actorOf(request).userId, request.params.id, request.params.code),
    }));

    app.patch(api.editGoods.url, { schema: api.editGoods.schema }, async (request) => ({
      goods: await editGoods(services.inventory(), actorOf(request), request.params.id, request.params.code, request.body),
    }));

    app.delete(api.removeGoods.url, { schema: api.removeGoods.schema }, async (request, reply) => {
      await removeGoods(services.inventory(), actorOf(request), request.params.id, request.params.code);
      return reply.status(204).send();
    });

    app.post(api.scan.url, { schema: api.scan.schema }, async (request) =>
      applyScan(services.inventory(), actorOf(request), { ...request.body, directoryId: request.params.id }),
    );

    app.get(api.changes.url, { schema: api.changes.schema }, async (request) =>
      changesSince(services.em(), actorOf(request).userId, request.params.id, request.query.since, services.config.changesReplayLimit),
    );

    app.get(api.logs.url, { schema: api.logs.schema }, async (request) =>
      directoryLogs(services.em(), actorOf(request).userId, request.params.id, request.query.before, request.query.limit ?? 50),
    );

    app.get(api.exportCsv.url, { schema: api.exportCsv.schema }, async (request, reply) => {
      const em = services.em();
      const directory = await findDirectory(em, actorOf(request).userId, request.params.id);
      const filename = encodeURIComponent(`${directory.name}.csv`);
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="export.csv"; filename*=UTF-8''${filename}`)
        .send(exportCsv(em, directory.id));
    });

    app.post(api.sync.url, { schema: api.sync.schema }, async (request) => ({
      results: await applyScans(services.inventory(), actorOf(request), request.body.events),
    }));
  };
}
