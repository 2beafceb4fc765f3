/**
 * Server-side console sessions: the browser holds only a random ID in an HttpOnly cookie; the
 * person, their tokens and the CSRF token stay here. A session ends after an idle timeout, after
 * an absolute timeout, at logout, or when the table is full and it is the least recently used.
 * Logins in progress (state, nonce, PKCE verifier) are kept in their own smaller table.
 */
import { constantTimeEqual, randomBytes, sha256Hex } from '@spike-ts/core';
import type { ConsolePerson } from './port.ts';

export interface SessionTokens {
  accessToken: string;
  /** Milliseconds since the epoch; the access token is refreshed shortly before. */
  accessExpiresAt: number;
  refreshToken?: string;
  idToken?: string;
}

export interface Session {
  /** SHA-256 of the cookie value: the table never holds the cookie value itself. */
  readonly key: string;
  person: ConsolePerson;
  tokens: SessionTokens;
  /** Sent in every form; compared in constant time on every POST. */
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
  /** One message shown on the next page (after a POST/redirect/GET). */
  flash?: { readonly kind: 'ok' | 'error'; readonly text: string };
  /** A token refresh under way (concurrent requests wait for the one refresh). */
  refreshing?: Promise<void>;
}

export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** The console page to show after login. */
  readonly next: string;
  readonly createdAt: number;
}

export interface SessionLimits {
  /** End a session this long after its last request. */
  readonly idleMs: number;
  /** End a session this long after login, however active. */
  readonly absoluteMs: number;
  /** Most sessions kept; the least recently used one ends to make room. */
  readonly maxSessions: number;
  /** Most logins in progress kept; the oldest is forgotten to make room. */
  readonly maxPendingLogins: number;
  /** A login not finished within this time must start again. */
  readonly pendingMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  idleMs: 15 * 60_000,
  absoluteMs: 8 * 60 * 60_000,
  maxSessions: 1000,
  maxPendingLogins: 1000,
  pendingMs: 10 * 60_000,
});

/** 32 random bytes, base64url: a session ID, CSRF token or login handle. */
export function randomToken(): string {
  return Buffer.from(randomBytes(32)).toString('base64url');
}

/** Constant-time comparison of two tokens (different lengths compare unequal). */
export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) return false;
  return constantTimeEqual(x, y);
}

export class SessionTable {
  readonly limits: SessionLimits;
  readonly #now: () => number;
  /** Insertion order = least recently used first (a hit moves the entry to the end). */
  readonly #sessions = new Map<string, Session>();
  readonly #pending = new Map<string, PendingLogin>();

  constructor(limits: Partial<SessionLimits> = {}, now: () => number = Date.now) {
    this.limits = Object.freeze({ ...DEFAULT_SESSION_LIMITS, ...limits });
    this.#now = now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get pendingSize(): number {
    return this.#pending.size;
  }

  /** Starts a session; returns the cookie value (shown to nobody else) and the session. */
  create(person: ConsolePerson, tokens: SessionTokens): { id: string; session: Session } {
    this.#prune();
    while (this.#sessions.size >= this.limits.maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const id = randomToken();
    const now = this.#now();
    const session: Session = {
      key: sha256Hex(id),
      person,
      tokens,
      csrfToken: randomToken(),
      createdAt: now,
      lastSeenAt: now,
    };
    this.#sessions.set(session.key, session);
    return { id, session };
  }

  /** The live session for a cookie value, touched; undefined when unknown or timed out. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || id.length === 0 || id.length > 100) return undefined;
    const key = sha256Hex(id);
    const session = this.#sessions.get(key);
    if (session === undefined) return undefined;
    const now = this.#now();
    if (now - session.lastSeenAt >= this.limits.idleMs || now - session.createdAt >= this.limits.absoluteMs) {
      this.#sessions.delete(key);
      return undefined;
    }
    session.lastSeenAt = now;
    this.#sessions.delete(key);
    this.#sessions.set(key, session);
    return session;
  }

  /** Ends a session (logout, failed refresh). */
  end(session: Session): void {
    this.#sessions.delete(session.key);
  }

  /** Remembers a login in progress under a fresh handle (the short-lived login cookie's value). */
  startLogin(login: Omit<PendingLogin, 'createdAt'>): string {
    const now = this.#now();
    for (const [handle, p] of this.#pending) {
      if (now - p.createdAt < this.limits.pendingMs) break;
      this.#pending.delete(handle);
    }
    while (this.#pending.size >= this.limits.maxPendingLogins) {
      const oldest = this.#pending.keys().next().value;
      if (oldest === undefined) break;
      this.#pending.delete(oldest);
    }
    const handle = randomToken();
    this.#pending.set(sha256Hex(handle), { ...login, createdAt: now });
    return handle;
  }

  /** Takes (and forgets) the login in progress for a handle; undefined when unknown or too old. */
  takeLogin(handle: string | undefined): PendingLogin | undefined {
    if (handle === undefined || handle.length === 0 || handle.length > 100) return undefined;
    const key = sha256Hex(handle);
    const login = this.#pending.get(key);
    this.#pending.delete(key);
    if (login === undefined || this.#now() - login.createdAt >= this.limits.pendingMs) return undefined;
    return login;
  }

  #prune(): void {
    const now = this.#now();
    for (const [key, s] of this.#sessions) {
      if (now - s.lastSeenAt >= this.limits.idleMs || now - s.createdAt >= this.limits.absoluteMs) {
        this.#sessions.delete(key);
      }
    }
  }
}
