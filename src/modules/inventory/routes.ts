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

/** `duplicate: true` beside the answer when it is the stored outcome of an event id sent before. */
function withDuplicate<T extends object>(answer: T, duplicate: boolean): T & { duplicate?: true } {
  return duplicate ? { ...answer, duplicate: true } : answer;
}

/** A DELETE usually has no body; its schema (an optional event id) then reads it as `{}`. */
async function noBodyIsEmpty(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) request.body = {};
}

/** The inventory over HTTP: each route's schemas come from the contract; the handler calls the domain. */
export function inventoryRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.addHook('preHandler', requireAuth(services));
    const { listDirectories: list, createDirectory: create, getDirectory, renameDirectory: rename, deleteDirectory: remove } = api;

    app.get(list.url, { schema: list.schema }, async (request) => ({ directories: await listDirectories(services.em(), actorOf(request).userId) }));

    app.post(create.url, { schema: create.schema }, async (request, reply) => {
      const created = await createDirectory(services.inventory(), actorOf(request), request.body.name, request.body.eventId);
      return reply.status(201).send(withDuplicate({ directory: created.directory }, created.duplicate));
    });

    app.get(getDirectory.url, { schema: getDirectory.schema }, async (request) =>
      directoryWithGoods(services.em(), actorOf(request).userId, request.params.id, request.query.q),
    );

    app.patch(rename.url, { schema: rename.schema }, async (request) => {
      const renamed = await renameDirectory(services.inventory(), actorOf(request), request.params.id, request.body.name, request.body.eventId);
      return withDuplicate({ directory: renamed.directory }, renamed.duplicate);
    });

    app.delete(remove.url, { schema: remove.schema, preValidation: noBodyIsEmpty }, async (request, reply) => {
      await deleteDirectory(services.inventory(), actorOf(request), request.params.id, request.body.eventId);
      return reply.status(204).send();
    });

    app.get(api.getGoods.url, { schema: api.getGoods.schema }, async (request) => ({
      goods: await getGoods(services.em(), actorOf(request).userId, request.params.id, request.params.code),
    }));

    app.patch(api.editGoods.url, { schema: api.editGoods.schema }, async (request) => {
      const edited = await editGoods(services.inventory(), actorOf(request), request.params.id, request.params.code, request.body);
      return withDuplicate({ goods: edited.goods }, edited.duplicate);
    });

    app.delete(api.removeGoods.url, { schema: api.removeGoods.schema, preValidation: noBodyIsEmpty }, async (request, reply) => {
      await removeGoods(services.inventory(), actorOf(request), request.params.id, request.params.code, request.body.eventId);
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
