import type { FastifyPluginAsync } from 'fastify';
import { legacy } from '../../contract';
import { AppError } from '../../errors';
import { legacyErrorHandler, legacyRoute, legacyText, refuse } from '../../http/legacy';
import type { Services } from '../../services';
import { inCreationOrder } from '../inventory/directories';
import { login } from './service';

const WECHAT_REFUSALS: Partial<Record<string, string>> = {
  wechat_code_invalid: '登录凭证无效，请重新登录',
  wechat_rate_limited: '登录过于频繁，请稍后再试',
  wechat_user_blocked: '该微信用户已被限制登录',
  wechat_unavailable: '微信服务暂不可用，请稍后再试',
  decrypt_failed: '用户数据解密失败',
};

/** The seed's POST /login/: `{dirs, status, info}` where `info` is the user's profile plus `cookie` (the token). */
export function legacyLoginRoute(services: Services): FastifyPluginAsync {
  return async (app) => {
    app.setErrorHandler(legacyErrorHandler);
    legacyRoute(app, legacy.login, async (fields) => {
      const code = legacyText(fields, 'code', { required: true, max: 256 }) as string;
      const encryptedData = legacyText(fields, 'encrypteddata', { max: 65536 }) ?? legacyText(fields, 'encryptedData', { max: 65536 });
      const iv = legacyText(fields, 'iv', { max: 64 });
      let result;
      try {
        result = await login(services.auth(), { code, encryptedData, iv });
      } catch (error) {
        const message = error instanceof AppError ? WECHAT_REFUSALS[error.code] : undefined;
        if (message) throw refuse(message);
        throw error;
      }
      const { user, profile } = result;
      const info = {
        nickName: profile?.nickName ?? user.nickname,
        gender: profile?.gender ?? user.gender,
        language: profile?.language ?? '',
        city: profile?.city ?? user.city,
        province: profile?.province ?? user.province,
        country: profile?.country ?? user.country,
        // As stored: never a profile's avatar that is not an http(s) URL.
        avatarUrl: user.avatarUrl,
        cookie: result.token,
      };
      // The seed's app knows only its user's own directories (it addresses them by name, and takes dirs[0] as the current one).
      const own = result.directories.filter((d) => d.role === 'owner');
      return { dirs: inCreationOrder(own).map((d) => d.name), status: result.created ? '已创建并登录' : '已登录', info };
    });
  };
}
