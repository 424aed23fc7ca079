import { Type } from '@sinclair/typebox';
import { Timestamp } from './fields';

/** The shapes of webhooks (SPEC "Webhooks"): what a manager registers and the log of what was sent. */

export const WebhookId = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

export const WebhookUrl = Type.String({
  minLength: 8,
  maxLength: 2000,
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
  description: 'an http(s) URL; its host must not be (or resolve to) a loopback, private or link-local address',
});

export const WebhookSecret = Type.String({ minLength: 16, maxLength: 256, description: 'the HMAC-SHA256 key of `X-Scancode-Signature`; never shown again' });

export const Webhook = Type.Object({ id: WebhookId, url: Type.String() }, { additionalProperties: false, title: 'Webhook' });

export const WebhookDelivery = Type.Object(
  {
    delivery: Type.String({ description: '`<directoryId>:<revision>`, the `X-Scancode-Delivery` header: a receiver dedupes by it' }),
    revision: Type.Integer({ minimum: 1 }),
    attempts: Type.Integer({ minimum: 0, description: 'POSTs made so far' }),
    status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')], {
      description: '`failed`: the receiver did not take it within 24 hours of the first attempt, and the next change went on',
    }),
    lastStatus: Type.Optional(Type.Integer({ description: "the HTTP status of the last attempt's answer" })),
    lastError: Type.Optional(Type.String({ description: 'why the last attempt failed (no answer, a refused address, a non-2xx status)' })),
    nextAttemptAt: Type.Optional({ ...Timestamp, description: 'when a pending delivery that failed is tried again' } as typeof Timestamp),
  },
  { additionalProperties: false, title: 'WebhookDelivery' },
);
