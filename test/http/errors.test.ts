import pino from 'pino';
import { DriverException, LockWaitTimeoutException } from '@mikro-orm/core';
import { AppError } from '../../src/errors';
import { toErrorBody } from '../../src/http/errors';

/** The one error mapper: whatever it is handed, an answer in SPEC's shape, never a throw. */
const log = pino({ level: 'silent' });

describe('the error mapper', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a string', 'boom'],
    ['a number', 42],
    [
      'an error whose message getter throws',
      Object.defineProperty({}, 'message', {
        get: () => {
          throw new Error('x');
        },
      }),
    ],
    ['a plain Error', new Error('boom')],
  ])('%s is internal', (_label, thrown) => {
    expect(toErrorBody(thrown, log)).toEqual({ status: 500, body: { code: 'internal', message: 'internal error' } });
  });

  it.each([
    ['a driver error without a cause', new LockWaitTimeoutException(Object.assign(new Error('Lock wait timeout exceeded'), { errno: 1205 }))],
    ['a raw lock-wait timeout', Object.assign(new Error('Lock wait timeout exceeded'), { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' })],
    ['a pool that found no connection', Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' })],
    ['a driver error caused by a reset', new DriverException(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))],
    ['a reset deep in a cause chain', new Error('outer', { cause: new Error('middle', { cause: Object.assign(new Error('inner'), { code: 'ECONNRESET' }) }) })],
  ])('%s is 503 unavailable', (_label, thrown) => {
    expect(toErrorBody(thrown, log)).toEqual({ status: 503, body: { code: 'unavailable', message: expect.any(String) } });
  });

  it('keeps what the domain said', () => {
    expect(toErrorBody(new AppError('insufficient_stock', 'only 1 in stock', { count: 1 }), log)).toEqual({ status: 409, body: { code: 'insufficient_stock', message: 'only 1 in stock', count: 1 } });
  });
});
