/**
 * @module fake-nexus-state
 * In-memory secrets, policies and cipher behind the test-only fake Nexus. It follows SPIKE
 * 0.8.2's documented semantics closely enough to exercise clients; it is not the real server.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export class FakeHttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string) {
    super(code);
    this.status = status;
    this.code = code;
  }
}

export const notFound = (): FakeHttpError => new FakeHttpError(404, 'api_not_found');
export const badRequest = (): FakeHttpError => new FakeHttpError(400, 'api_bad_request');

interface Version {
  data: Record<string, string>;
  created: string;
  deleted: string | null;
}
interface Secret {
  versions: Map<number, Version>;
  current: number;
  created: string;
  updated: string;
}
export interface FakePolicy {
  name: string;
  spiffeidPattern: string;
  pathPattern: string;
  permissions: string[];
  createdAt: string;
  updatedAt: string;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class FakeNexusState {
  readonly secrets = new Map<string, Secret>();
  readonly policies = new Map<string, FakePolicy>();
  readonly #key = randomBytes(32);

  put(path: string, values: Record<string, string>): void {
    const s = this.secrets.get(path) ?? { versions: new Map(), current: 0, created: now(), updated: now() };
    const next = Math.max(0, ...s.versions.keys()) + 1;
    s.versions.set(next, { data: { ...values }, created: now(), deleted: null });
    s.current = next;
    s.updated = now();
    this.secrets.set(path, s);
  }

  #live(path: string, version: number): { s: Secret; v: Version; n: number } {
    const s = this.secrets.get(path);
    if (s === undefined) throw notFound();
    const n = version === 0 ? s.current : version;
    const v = s.versions.get(n);
    if (n === 0 || v === undefined || v.deleted !== null) throw notFound();
    return { s, v, n };
  }

  get(path: string, version: number): Record<string, string> {
    return this.#live(path, version).v.data;
  }

  metadata(path: string, version: number): unknown {
    const { s } = this.#live(path, version);
    const versions: Record<string, unknown> = {};
    for (const [n, v] of s.versions)
      versions[String(n)] = { createdTime: v.created, version: n, deletedTime: v.deleted };
    const live = [...s.versions].filter(([, v]) => v.deleted === null).map(([n]) => n);
    return {
      versions,
      metadata: {
        currentVersion: s.current,
        oldestVersion: live.length === 0 ? 0 : Math.min(...live),
        createdTime: s.created,
        updatedTime: s.updated,
        maxVersions: 10,
      },
    };
  }

  delete(path: string, versions: number[]): void {
    const s = this.secrets.get(path);
    if (s === undefined) throw notFound();
    const list = versions.length === 0 ? [s.current] : versions.map((v) => (v === 0 ? s.current : v));
    for (const n of list) {
      const v = s.versions.get(n);
      if (v !== undefined && v.deleted === null) v.deleted = now();
    }
    const live = [...s.versions].filter(([, v]) => v.deleted === null).map(([n]) => n);
    s.current = live.length === 0 ? 0 : Math.max(...live);
    s.updated = now();
  }

  undelete(path: string, versions: number[]): void {
    const s = this.secrets.get(path);
    if (s === undefined) throw notFound();
    let list: number[];
    if (versions.length === 0) {
      const deleted = [...s.versions].filter(([, v]) => v.deleted !== null).map(([n]) => n);
      list = s.current !== 0 ? [s.current] : deleted.length === 0 ? [] : [Math.max(...deleted)];
    } else {
      list = versions.map((v) => (v === 0 ? s.current : v)).filter((v) => v !== 0);
    }
    let done = 0;
    for (const n of list) {
      const v = s.versions.get(n);
      if (v === undefined) continue;
      if (v.deleted !== null) v.deleted = null;
      done++;
      if (n > s.current) s.current = n;
    }
    if (done === 0) throw notFound();
  }

  putPolicy(p: Omit<FakePolicy, 'createdAt' | 'updatedAt'>): void {
    const old = this.policies.get(p.name);
    this.policies.set(p.name, { ...p, createdAt: old?.createdAt ?? now(), updatedAt: now() });
  }

  encrypt(plaintext: Buffer): { nonce: Buffer; ciphertext: Buffer } {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, nonce);
    const ciphertext = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
    return { nonce, ciphertext };
  }

  decrypt(nonce: Buffer, ciphertext: Buffer): Buffer {
    if (nonce.byteLength !== 12 || ciphertext.byteLength < 16) throw badRequest();
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, nonce);
      d.setAuthTag(ciphertext.subarray(ciphertext.byteLength - 16));
      return Buffer.concat([d.update(ciphertext.subarray(0, ciphertext.byteLength - 16)), d.final()]);
    } catch {
      throw new FakeHttpError(500, 'api_internal_error');
    }
  }
}
