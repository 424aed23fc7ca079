import { Type, type TProperties, type TSchema } from '@sinclair/typebox';

/**
 * The seed mini-program's form routes, as its Django backend answered them: POST
 * `application/x-www-form-urlencoded`, 200 with JSON, refusals as `{error: "<中文>"}`. Published so that
 * they are documented, never to refuse: the app is deployed and cannot change, so its forms are
 * lenient (every field optional text, fields no one names allowed) and the server registers them with
 * validation attached rather than enforced. Answers list the fields the seed returned and allow others,
 * so that the serializer, which drops fields a schema does not name, passes the seed's answers whole.
 */

const lenient = <T extends TProperties>(properties: T, options: { title?: string; description?: string } = {}) => Type.Object(properties, { ...options, additionalProperties: true });

/** A form of optional text fields, each described by what the seed's app puts in it. */
function form(fields: Record<string, string>) {
  const properties: Record<string, TSchema> = {};
  for (const [name, description] of Object.entries(fields)) properties[name] = Type.Optional(Type.String({ description }));
  return lenient(properties);
}

const cookie = 'the session token (`info.cookie` of /login/)';
const dir = 'a directory name, as typed or trimmed';

/** Every refusal, with the seed's Chinese message; some answers carry more fields beside it. */
export const LegacyError = lenient({ error: Type.String({ description: "the seed's message, e.g. 用户错误" }) }, { title: 'LegacyError', description: "A refusal, in the seed's words" });

export const LegacyLoginForm = form({ code: 'the code from wx.login()', encrypteddata: 'wx.getUserInfo() encryptedData', iv: 'its iv' });
export const LegacyCheckqrForm = form({ code: 'the scanned code', cookie, dir });
export const LegacyDatainForm = form({ code: 'the scanned code', name: 'goods name; empty keeps the stored one', remarks: 'remarks; empty keeps the stored ones', cookie, dir });
export const LegacyDataoutForm = form({ code: 'the scanned code', cookie, dir });
export const LegacyQueryForm = form({ cookie });
export const LegacyBuilddirForm = form({ cookie, dirname: 'the new directory name (trimmed)' });

export const LegacyLoginAnswer = lenient({
  dirs: Type.Array(Type.String(), { description: 'directory names in creation order; the app takes dirs[0] as the current one' }),
  status: Type.Union([Type.Literal('已登录'), Type.Literal('已创建并登录')]),
  info: lenient({
    nickName: Type.String(),
    gender: Type.Integer(),
    language: Type.String(),
    city: Type.String(),
    province: Type.String(),
    country: Type.String(),
    avatarUrl: Type.String(),
    cookie: Type.String({ description: 'the session token' }),
  }),
});
export const LegacyGoodsAnswer = lenient({ name: Type.String(), remarks: Type.String(), count: Type.Integer() });
export const LegacyUnknownGoods = lenient({ exist: Type.Literal('none_existed') });
export const LegacyDatainAnswer = lenient({ cur_count: Type.Integer(), exist: Type.Union([Type.Literal('existed'), Type.Literal('newone')]) });
export const LegacyDataoutAnswer = lenient({ exist: Type.Literal('existed'), cur_count: Type.Integer() });
export const LegacyDataoutRefusal = lenient({
  exist: Type.Union([Type.Literal('existed'), Type.Literal('noneexist')]),
  error: Type.String({ description: '库存不足 (none left) or 无此商品 (unknown code)' }),
});
export const LegacyQueryAnswer = lenient({
  // Keyed by directory name, any name (a record's key pattern would leave out names with a line break).
  dirs: Type.Object(
    {},
    {
      additionalProperties: Type.Array(lenient({ name: Type.String(), remark: Type.String(), count: Type.Integer(), code: Type.String() })),
      description: 'every directory by name, in creation order, with its goods',
    },
  ),
});
export const LegacyBuilddirAnswer = lenient({ status: Type.String({ description: '已成功建立仓库<name>' }) });

interface LegacySchema {
  summary: string;
  body: TSchema;
  /** The answers a request gets with 200, success first (the serializer takes the first that fits). */
  answers: TSchema[];
}

/**
 * A legacy route's schema as registered: a refusal may come instead of any answer, with 200 as the seed
 * sent it (413 for a body over the limit and 5xx keep their status, in the same shape).
 */
function formRoute<const U extends string>(url: U, schema: LegacySchema) {
  return {
    url,
    schema: {
      summary: schema.summary,
      tags: ['legacy'],
      consumes: ['application/x-www-form-urlencoded'],
      body: schema.body,
      response: {
        200: Type.Union([...schema.answers, LegacyError], { description: "The answer, or a refusal in the seed's words" }),
        '4xx': LegacyError,
        '5xx': LegacyError,
      },
    },
  };
}

/** The seed's routes; any other method on their URLs answers `{error: "仅接受POST请求"}` (not published). */
export const legacy = {
  login: formRoute('/login/', { summary: 'Log in (seed app): directory names, status and the profile with the token as cookie', body: LegacyLoginForm, answers: [LegacyLoginAnswer] }),
  checkqr: formRoute('/checkqr/', { summary: 'Look goods up by code (seed app)', body: LegacyCheckqrForm, answers: [LegacyGoodsAnswer, LegacyUnknownGoods] }),
  datain: formRoute('/datain/', { summary: 'Scan one in (seed app)', body: LegacyDatainForm, answers: [LegacyDatainAnswer] }),
  dataout: formRoute('/dataout/', { summary: 'Scan one out (seed app)', body: LegacyDataoutForm, answers: [LegacyDataoutAnswer, LegacyDataoutRefusal] }),
  query: formRoute('/query/', { summary: 'Every directory with its goods (seed app)', body: LegacyQueryForm, answers: [LegacyQueryAnswer] }),
  builddir: formRoute('/builddir/', { summary: 'Create a directory (seed app)', body: LegacyBuilddirForm, answers: [LegacyBuilddirAnswer] }),
};

export type LegacyRoute = (typeof legacy)[keyof typeof legacy];
