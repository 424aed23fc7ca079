import { CLIENT_FRAMES, type ClientFrame, type ErrorBody, type RequestId, type ServerFrame } from '../../contract';
import { createAjv, validator, type Validated } from '../../validation';

/**
 * Parsing and encoding of `/ws` frames. Their shapes are the contract's (src/contract/frames.ts); this
 * file only turns text into a checked frame and a frame into text.
 */
export { CloseCode, MAX_FRAME_BYTES, type ClientFrame, type RequestFrame, type RequestId, type ServerFrame } from '../../contract';

const ajv = createAjv({ coerce: false });
const validators = new Map<string, (value: unknown) => Validated<ClientFrame>>(Object.entries(CLIENT_FRAMES).map(([type, schema]) => [type, validator<ClientFrame>(ajv, schema, 'frame')]));

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  /** `id` is the frame's id when it had a usable one, so the refusal can be an ack. */
  | { ok: false; id: RequestId | null; error: ErrorBody };

function usableId(value: unknown): RequestId | null {
  if (typeof value === 'string' && value.length > 0 && value.length <= 64) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  return null;
}

const badRequest = (message: string): ErrorBody => ({ code: 'bad_request', message });

/** Parses and validates one incoming text frame, by its own type's schema. Never throws. */
export function parseClientFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, id: null, error: badRequest('frame is not valid JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, id: null, error: badRequest('frame must be a JSON object') };
  const record = value as Record<string, unknown>;
  const id = usableId(record.id);
  if (typeof record.type !== 'string') return { ok: false, id, error: badRequest('type is required and must be a string') };
  const validate = validators.get(record.type);
  if (!validate) return { ok: false, id, error: badRequest(`type "${record.type.slice(0, 64)}" is not a known frame type`) };
  const checked = validate(value);
  return checked.ok ? { ok: true, frame: checked.value } : { ok: false, id, error: badRequest(checked.message) };
}

/** Server frames are serialized here, once per frame however many sockets receive it. */
export function encode(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/** A frame's type, for metrics: every frame is encoded with its type first (encode of an object literal). */
export function frameType(frame: string | Buffer | SharedFrame): string {
  if (frame instanceof SharedFrame) return frame.type;
  const head = typeof frame === 'string' ? frame.slice(0, 32) : frame.toString('latin1', 0, 32);
  return /^\{"type":"([a-z-]+)"/.exec(head)?.[1] ?? 'other';
}

/**
 * A server frame for many sockets (a change to a directory's watchers): serialized once, and framed
 * once as the WebSocket text frame a server sends (final, unmasked, not compressed), so that each
 * socket is one write of the same bytes rather than its own UTF-8 encoding and header.
 */
export class SharedFrame {
  readonly type: string;
  /** The frame's JSON, UTF-8. */
  readonly payload: Buffer;
  /** The WebSocket frame: header, then payload (RFC 6455 section 5.2). */
  readonly framed: Buffer;

  constructor(frame: ServerFrame) {
    this.type = frame.type;
    const text = encode(frame);
    const length = Buffer.byteLength(text);
    const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
    this.framed = Buffer.allocUnsafe(header + length);
    this.framed[0] = 0x81; // FIN, text
    if (header === 2) this.framed[1] = length;
    else if (header === 4) {
      this.framed[1] = 126;
      this.framed.writeUInt16BE(length, 2);
    } else {
      this.framed[1] = 127;
      this.framed.writeBigUInt64BE(BigInt(length), 2);
    }
    this.framed.write(text, header, 'utf8');
    this.payload = this.framed.subarray(header);
  }
}
