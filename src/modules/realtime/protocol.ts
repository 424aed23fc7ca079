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
