/**
 * Strict JSON body parsing for every route.
 *
 * - The bytes must be valid UTF-8 (a fatal decoder; a leading BOM is not stripped, so it is
 *   rejected by `JSON.parse` just as Go's encoding/json rejects it).
 * - Nesting deeper than `maxDepth` objects/arrays is rejected before `JSON.parse` runs.
 * - Every object key is kept as plain data, `__proto__`, `constructor` and `prototype` included
 *   (SPIKE stores such secret keys, so they must survive a migration): keys become own data
 *   properties (`JSON.parse` semantics), never a prototype change. Code that builds objects from
 *   decoded keys must do the same (`Object.defineProperty`, `Object.fromEntries`, spread or a
 *   `Map`), never `target[key] = value`.
 * - Lone UTF-16 surrogates written as `\uXXXX` escapes are replaced with U+FFFD, which is what
 *   Go's encoding/json does with invalid surrogates.
 *
 * The result is plain data: `null`, booleans, numbers, strings, arrays and ordinary objects.
 */
import { BadRequestError } from './api-error.ts';

/** Re-exported for the modules and tests that take it from here. */
export { BadRequestError };

/** Default maximum nesting depth of objects and arrays in a request body. */
export const DEFAULT_JSON_MAX_DEPTH = 64;

export interface ParseJsonOptions {
  /** Maximum nesting depth of objects/arrays (default 64). */
  maxDepth?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parse a request body. Throws `BadRequestError` on anything but clean, shallow JSON. */
export function parseJsonBody(bytes: Uint8Array | string, options: ParseJsonOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  let text: string;
  if (typeof bytes === 'string') {
    text = bytes;
  } else {
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new BadRequestError('body: not valid UTF-8');
    }
  }
  checkDepth(text, maxDepth);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The engine's message may quote part of the body (possibly secret): never pass it on.
    throw new BadRequestError('body: malformed JSON');
  }
  return sanitize(value);
}

/** Linear scan counting bracket nesting outside of strings. */
function checkDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth > maxDepth) throw new BadRequestError(`body: JSON nested deeper than ${maxDepth} levels`);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
}

/** Repair lone surrogates. Recursion depth is bounded by `checkDepth`. */
function sanitize(value: unknown): unknown {
  if (typeof value === 'string') return value.isWellFormed() ? value : value.toWellFormed();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = sanitize(value[i]);
    return value;
  }
  if (value !== null && typeof value === 'object') {
    // Rebuilt rather than edited in place so a repaired key cannot clobber a later one.
    const source = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(source)) {
      // defineProperty, not assignment: `out["__proto__"] = v` would set the prototype.
      Object.defineProperty(out, key.isWellFormed() ? key : key.toWellFormed(), {
        value: sanitize(source[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}
