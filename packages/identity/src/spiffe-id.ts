/**
 * Strict SPIFFE ID parsing (SPIFFE-ID standard §2, same outcomes as go-spiffe `spiffeid`).
 *
 * Form: `spiffe://<trust-domain>[/<path>]`. The scheme prefix must be literally lowercase, the
 * trust domain uses `[a-z0-9._-]` (≤ 255 bytes), path segments use `[A-Za-z0-9._-]`, with no
 * empty, `.` or `..` segment and no trailing slash; the whole ID is at most 2048 bytes. Every
 * check is a single left-to-right scan over the input (linear time, no regular expressions).
 */

export const SPIFFE_SCHEME_PREFIX = 'spiffe://';
export const MAX_SPIFFE_ID_BYTES = 2048;
export const MAX_TRUST_DOMAIN_BYTES = 255;

export interface SpiffeId {
  /** Trust domain name, e.g. `spike.ist`. */
  readonly trustDomain: string;
  /** Path including the leading `/`, or `''` for a trust-domain ID. */
  readonly path: string;
  /** The canonical string form `spiffe://<td><path>`. */
  toString(): string;
}

/** Thrown for any malformed SPIFFE ID or trust domain. The message never echoes the input. */
export class SpiffeIdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpiffeIdError';
  }
}

export const SPIFFE_ID_ERRORS = {
  empty: 'cannot be empty',
  wrongScheme: 'scheme is missing or invalid',
  missingTrustDomain: 'trust domain is missing',
  badTrustDomainChar:
    'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
  trustDomainTooLong: `trust domain is too long (at most ${MAX_TRUST_DOMAIN_BYTES} bytes)`,
  idTooLong: `SPIFFE ID is too long (at most ${MAX_SPIFFE_ID_BYTES} bytes)`,
  noLeadingSlash: 'path must have a leading slash',
  emptySegment: 'path cannot contain empty segments',
  dotSegment: 'path cannot contain dot segments',
  trailingSlash: 'path cannot have a trailing slash',
  badPathSegmentChar:
    'path segment characters are limited to letters, numbers, dots, dashes, and underscores',
} as const;

class ParsedSpiffeId implements SpiffeId {
  readonly trustDomain: string;
  readonly path: string;
  readonly #text: string;

  constructor(trustDomain: string, path: string) {
    this.trustDomain = trustDomain;
    this.path = path;
    this.#text = SPIFFE_SCHEME_PREFIX + trustDomain + path;
    Object.freeze(this);
  }

  toString(): string {
    return this.#text;
  }

  toJSON(): string {
    return this.#text;
  }
}

function isTrustDomainChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2e || // .
    c === 0x2d || // -
    c === 0x5f // _
  );
}

function isPathSegmentChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2e ||
    c === 0x2d ||
    c === 0x5f
  );
}

/** Returns an error message for an invalid trust domain name, or `undefined` if it is valid. */
function trustDomainProblem(name: string): string | undefined {
  if (name.length === 0) return SPIFFE_ID_ERRORS.missingTrustDomain;
  for (let i = 0; i < name.length; i++) {
    if (!isTrustDomainChar(name.charCodeAt(i))) return SPIFFE_ID_ERRORS.badTrustDomainChar;
  }
  // All characters are ASCII here, so length equals byte length.
  if (name.length > MAX_TRUST_DOMAIN_BYTES) return SPIFFE_ID_ERRORS.trustDomainTooLong;
  return undefined;
}

/** Returns an error message for an invalid path, or `undefined` if valid (`''` is valid). */
function pathProblem(path: string): string | undefined {
  if (path.length === 0) return undefined;
  if (path.charCodeAt(0) !== 0x2f) return SPIFFE_ID_ERRORS.noLeadingSlash;
  let segmentStart = 0; // index of the '/' that opens the current segment
  for (let i = 1; i <= path.length; i++) {
    const atEnd = i === path.length;
    const c = atEnd ? 0x2f : path.charCodeAt(i);
    if (c === 0x2f) {
      const len = i - segmentStart - 1;
      if (len === 0) return atEnd ? SPIFFE_ID_ERRORS.trailingSlash : SPIFFE_ID_ERRORS.emptySegment;
      if (
        path.charCodeAt(segmentStart + 1) === 0x2e &&
        (len === 1 || (len === 2 && path.charCodeAt(segmentStart + 2) === 0x2e))
      ) {
        return SPIFFE_ID_ERRORS.dotSegment;
      }
      segmentStart = i;
      continue;
    }
    if (!isPathSegmentChar(c)) return SPIFFE_ID_ERRORS.badPathSegmentChar;
  }
  return undefined;
}

/** Parses a SPIFFE ID strictly. Throws {@link SpiffeIdError} with a go-spiffe style message. */
export function parseSpiffeId(s: string): SpiffeId {
  if (typeof s !== 'string' || s.length === 0) throw new SpiffeIdError(SPIFFE_ID_ERRORS.empty);
  // UTF-16 length never exceeds the UTF-8 byte length, so this rejects every over-long input
  // early; anything non-ASCII that slips through fails the character checks below.
  if (s.length > MAX_SPIFFE_ID_BYTES) throw new SpiffeIdError(SPIFFE_ID_ERRORS.idTooLong);
  if (!s.startsWith(SPIFFE_SCHEME_PREFIX)) throw new SpiffeIdError(SPIFFE_ID_ERRORS.wrongScheme);
  const start = SPIFFE_SCHEME_PREFIX.length;
  let end = start;
  while (end < s.length && s.charCodeAt(end) !== 0x2f) {
    if (!isTrustDomainChar(s.charCodeAt(end))) throw new SpiffeIdError(SPIFFE_ID_ERRORS.badTrustDomainChar);
    end++;
  }
  const trustDomain = s.slice(start, end);
  const tdProblem = trustDomainProblem(trustDomain);
  if (tdProblem !== undefined) throw new SpiffeIdError(tdProblem);
  const path = s.slice(end);
  const pProblem = pathProblem(path);
  if (pProblem !== undefined) throw new SpiffeIdError(pProblem);
  return new ParsedSpiffeId(trustDomain, path);
}

export function isValidSpiffeId(s: string): boolean {
  try {
    parseSpiffeId(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses a trust domain given as a bare name (`example.org`) or as a trust-domain ID
 * (`spiffe://example.org`, no path). Returns the bare name.
 */
export function parseTrustDomain(s: string): string {
  if (typeof s !== 'string' || s.length === 0) throw new SpiffeIdError(SPIFFE_ID_ERRORS.missingTrustDomain);
  if (s.includes(':/')) {
    const id = parseSpiffeId(s);
    if (id.path !== '') throw new SpiffeIdError('a trust domain ID must not have a path');
    return id.trustDomain;
  }
  const problem = trustDomainProblem(s);
  if (problem !== undefined) throw new SpiffeIdError(problem);
  return s;
}

export function isValidTrustDomain(s: string): boolean {
  try {
    parseTrustDomain(s);
    return true;
  } catch {
    return false;
  }
}

/** `spiffe://<td>`: the ID of a trust domain (also the key of Workload API bundle maps). */
export function trustDomainId(trustDomain: string): string {
  return SPIFFE_SCHEME_PREFIX + parseTrustDomain(trustDomain);
}

/** Builds and validates an ID from a trust domain and a path such as `/spike/nexus`. */
export function makeSpiffeId(trustDomain: string, path: string): SpiffeId {
  const problem = pathProblem(path);
  if (problem !== undefined) throw new SpiffeIdError(problem);
  return parseSpiffeId(SPIFFE_SCHEME_PREFIX + parseTrustDomain(trustDomain) + path);
}
