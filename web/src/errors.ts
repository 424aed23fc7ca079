import { ScancodeError } from '@scancode/client';
import { t, tr, type TextKey } from './i18n';

/**
 * An error as the user reads it: the code's text in the current language (with its details: the
 * stock, the roles, the open count), then the server's own message, which names the field or the rule.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof ScancodeError)) return `${t('error')}: ${error instanceof Error ? error.message : String(error)}`;
  const body = (error.body ?? {}) as Record<string, unknown>;
  const details: Record<string, string | number | undefined> = {};
  for (const [name, value] of Object.entries(body)) if (typeof value === 'string' || typeof value === 'number') details[name] = value;
  if (error.code === 'forbidden') {
    details.role = tr('role', String(body.role ?? ''));
    details.required = tr('role', String(body.required ?? ''));
  }
  const key = (error.code === 'undo_conflict' && typeof body.count === 'number' ? 'err_undo_conflict_count' : `err_${error.code}`) as TextKey;
  const known = t(key, details);
  const text = known === key ? error.code : known;
  return error.message && error.message !== text ? `${text} (${error.code}: ${error.message})` : `${text} (${error.code})`;
}
