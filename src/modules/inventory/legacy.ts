import type { FastifyPluginAsync } from 'fastify';
import { legacy, MAX_CODE_LENGTH, MAX_GOODS_NAME_LENGTH, operations } from '../../contract';
import { AppError } from '../../errors';
import { isStorableText } from '../../validation';
import { legacyErrorHandler, legacyPrincipal, legacyRoute, legacyText, refuse, type LegacyFields } from '../../http/legacy';
import type { Services } from '../../services';
import { authorize, createDirectory, directoryIdByName, inCreationOrder, listDirectories } from './directories';
import { goodsByDirectory, lookupGoods } from './goods';
import { applyScan } from './scan';
import type { Actor } from './views';

/**
 * The seed's inventory routes, over the same domain as /api (so WebSocket watchers see these writes),
 * answering with the seed's exact fields and messages. Directories are addressed by name (`dir`).
 */
export function legacyInventoryRoutes(services: Services): FastifyPluginAsync {
  async function resolve(fields: LegacyFields, missingDirectory: string): Promise<{ actor: Actor; directoryId: number; code: string }> {
    const { userId, deviceId } = await legacyPrincipal(services, fields.cookie);
    const directoryId = await directoryIdByName(services.em(), userId, fields.dir ?? '');
    if (directoryId === null) throw refuse(missingDirectory);
    const code = legacyText(fields, 'code', { required: true, max: MAX_CODE_LENGTH }) as string;
    return { actor: { userId, deviceId }, directoryId, code };
  }

  return async (app) => {
    app.setErrorHandler(legacyErrorHandler);

    legacyRoute(app, legacy.checkqr, async (fields) => {
      const { actor, directoryId, code } = await resolve(fields, '无此仓库，请重新登陆账户');
      const goods = await lookupGoods(services.em(), await authorize(services.em(), actor.userId, directoryId, operations.lookup.role), code);
      return goods ? { name: goods.name, remarks: goods.remarks, count: goods.count } : { exist: 'none_existed' };
    });

    legacyRoute(app, legacy.datain, async (fields) => {
      const { actor, directoryId, code } = await resolve(fields, '不存在此仓库');
      // The seed's form always sends name and remarks; empty ones must not wipe what is stored.
      const name = legacyText(fields, 'name', { max: MAX_GOODS_NAME_LENGTH });
      const remarks = legacyText(fields, 'remarks', { max: 1000 });
      try {
        const result = await applyScan(services.inventory(), actor, { directoryId, op: 'in', code, qty: 1, name, remarks });
        return { cur_count: result.goods.count, exist: result.created ? 'newone' : 'existed' };
      } catch (error) {
        if (error instanceof AppError && error.code === 'quota_exceeded') throw refuse(`已达商品数量上限（${String(error.details.limit)}种），请先删除不用的商品`);
        throw error;
      }
    });

    legacyRoute(app, legacy.dataout, async (fields) => {
      const { actor, directoryId, code } = await resolve(fields, '无此仓库');
      try {
        const result = await applyScan(services.inventory(), actor, { directoryId, op: 'out', code, qty: 1 });
        return { exist: 'existed', cur_count: result.goods.count };
      } catch (error) {
        if (error instanceof AppError && error.code === 'insufficient_stock') return { exist: 'existed', error: '库存不足' };
        if (error instanceof AppError && error.code === 'goods_not_found') return { exist: 'noneexist', error: '无此商品' };
        throw error;
      }
    });

    legacyRoute(app, legacy.query, async (fields) => {
      const { userId } = await legacyPrincipal(services, fields.cookie);
      const em = services.em();
      // The seed's app knows only its user's own directories (it addresses them by name).
      const [directories, goods] = await Promise.all([listDirectories(em, userId).then((all) => all.filter((d) => d.role === 'owner')), goodsByDirectory(em, userId)]);
      const dirs: Record<string, { name: string; remark: string; count: number; code: string }[]> = {};
      for (const directory of inCreationOrder(directories)) {
        dirs[directory.name] = (goods.get(directory.id) ?? []).map((g) => ({ name: g.name, remark: g.remarks, count: g.count, code: g.code }));
      }
      return { dirs };
    });

    legacyRoute(app, legacy.builddir, async (fields) => {
      const { userId, deviceId } = await legacyPrincipal(services, fields.cookie);
      const name = (fields.dirname ?? '').trim();
      if (name === '') throw refuse('仓库名不能为空');
      if ([...name].length > 100) throw refuse('仓库名过长（最多100个字符）');
      if (!isStorableText(name)) throw refuse('仓库名含有无法保存的字符');
      try {
        const { directory } = await createDirectory(services.inventory(), { userId, deviceId }, name);
        return { status: `已成功建立仓库${directory.name}` };
      } catch (error) {
        if (error instanceof AppError && error.code === 'name_taken') throw refuse('已有该仓库');
        if (error instanceof AppError && error.code === 'quota_exceeded') throw refuse(`已达仓库数量上限（${String(error.details.limit)}个），请先删除不用的仓库`);
        throw error;
      }
    });
  };
}
