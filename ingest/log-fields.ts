// Header values a client chose, made fit for a log line: an attacker must not be able
// to write long or misleading text into the logs. Pure.
import { deliveryIdOf } from '../schemas/delivery.js';

/** The longest text kept of a header value in a log line. */
export const MAX_LOGGED_CHARS = 64;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The delivery id when it is a GUID (in its canonical spelling), otherwise nothing (it says nothing then). */
export function loggedDeliveryId(value: string | string[] | undefined): string | undefined {
  const id = first(value);
  return id === undefined ? undefined : deliveryIdOf(id);
}

/**
 * A header value cut to MAX_LOGGED_CHARS, every character outside printable ASCII
 * written as \\u escape, and a marker with the original length when cut.
 */
export function loggedHeader(value: string | string[] | undefined): string | undefined {
  const text = first(value);
  if (text === undefined) return undefined;
  const kept = text
    .slice(0, MAX_LOGGED_CHARS)
    .replace(/[^\x20-\x7e]|\\/g, (c) =>
      c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  return text.length > MAX_LOGGED_CHARS ? `${kept}…(${text.length} chars)` : kept;
}
