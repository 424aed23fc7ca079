import axios, { type AxiosInstance } from 'axios';
import { AppError, type ErrorCode } from '../../errors';

export interface WechatSession {
  openid: string;
  unionid: string | null;
  sessionKey: string;
}

export interface WechatClient {
  appId: string;
  code2Session(code: string): Promise<WechatSession>;
}

/** WeChat's documented jscode2session errcodes, mapped to SPEC's error codes. */
const ERRCODES: Record<number, { code: ErrorCode; message: string }> = {
  40029: { code: 'wechat_code_invalid', message: 'the WeChat login code is invalid' },
  40163: { code: 'wechat_code_invalid', message: 'the WeChat login code was already used' },
  45011: { code: 'wechat_rate_limited', message: 'WeChat is rate limiting this user; try again in a minute' },
  40226: { code: 'wechat_user_blocked', message: 'WeChat has blocked this user' },
  [-1]: { code: 'wechat_unavailable', message: 'WeChat is busy; try again' },
};

interface Jscode2SessionBody {
  openid?: unknown;
  unionid?: unknown;
  session_key?: unknown;
  errcode?: unknown;
}

/**
 * The one client for WeChat's auth API, used in production and in tests (against the fake on
 * loopback). The original axios error is never rethrown: its config carries the app secret.
 */
export function createWechatClient(options: { apiBase: string; appId: string; secret: string; timeoutMs: number }): WechatClient {
  const http: AxiosInstance = axios.create({ baseURL: options.apiBase, timeout: options.timeoutMs, proxy: false });
  return {
    appId: options.appId,
    async code2Session(code: string): Promise<WechatSession> {
      let body: Jscode2SessionBody;
      try {
        const response = await http.get<Jscode2SessionBody>('/sns/jscode2session', {
          params: { appid: options.appId, secret: options.secret, js_code: code, grant_type: 'authorization_code' },
          responseType: 'json',
        });
        body = typeof response.data === 'string' ? (JSON.parse(response.data) as Jscode2SessionBody) : response.data;
      } catch (error) {
        const timedOut = axios.isAxiosError(error) && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT');
        throw new AppError('wechat_unavailable', timedOut ? 'WeChat did not answer in time' : 'WeChat could not be reached');
      }
      const errcode = typeof body.errcode === 'number' ? body.errcode : 0;
      if (errcode !== 0) {
        const known = ERRCODES[errcode];
        throw known ? new AppError(known.code, known.message, { errcode }) : new AppError('wechat_unavailable', `WeChat refused the login (errcode ${errcode})`, { errcode });
      }
      if (typeof body.openid !== 'string' || typeof body.session_key !== 'string') {
        throw new AppError('wechat_unavailable', 'WeChat answered without openid or session_key');
      }
      return {
        openid: body.openid,
        unionid: typeof body.unionid === 'string' ? body.unionid : null,
        sessionKey: body.session_key,
      };
    },
  };
}
