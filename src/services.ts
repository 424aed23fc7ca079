import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config';
import type { Em, Orm } from './db/orm';
import type { AuthContext } from './modules/auth/service';
import type { InventoryContext } from './modules/inventory/context';
import type { Bus } from './modules/realtime/bus';
import type { WechatClient } from './modules/wechat/client';

/** What every transport hands to the domain: built once per app, with a fresh EntityManager per unit of work. */
export class Services {
  constructor(
    readonly config: Config,
    readonly orm: Orm,
    readonly bus: Bus,
    readonly wechat: WechatClient,
    readonly now: () => Date,
    readonly log: FastifyBaseLogger,
  ) {}

  /** A fresh EntityManager: one per HTTP request or WebSocket message, never one per socket. */
  em(): Em {
    return this.orm.em.fork();
  }

  inventory(): InventoryContext {
    return { em: this.em(), bus: this.bus, now: this.now, changesReplayLimit: this.config.changesReplayLimit };
  }

  auth(): AuthContext {
    return { em: this.em(), bus: this.bus, wechat: this.wechat, now: this.now, sessionTtlMs: this.config.sessionTtlMs, devLogin: this.config.wechat.devLogin, log: this.log };
  }
}
