/**
 * Root-key generations of a persistent store (ADR 0044), shared by the SQLite and PostgreSQL
 * backends. Generation 1 is the key the store was initialized with (its key-check value is the
 * `meta` row). Each rotation adds a `root_keys` row for generation g + 1 holding:
 * - `key_check`: the new key's key-check value;
 * - `carry`: sealed under the new key, what must outlive the old one: the storage-index key
 *   (lookup ids never change, so rows are re-sealed in place) and the cipher-API keys of the
 *   older generations (ciphertexts made before the rotation still decrypt);
 * - `up`: the new root key sealed under the old one, and `down`: the old root key sealed under the
 *   new one. While both exist, either key opens the other, so a restart with any mix of old and new
 *   shares in the keepers recovers both. `finish` deletes them (and the old carry): from then on
 *   the old key opens nothing, and is refused as retired.
 * The row is written before any share of the new key leaves the process.
 *
 * This module only decides: which generation a candidate key is, which keys it yields, what a new
 * generation row holds. The backends read and write the rows.
 */
import {
  aesKeyObject,
  associatedData,
  computeKeyCheckValue,
  constantTimeEqual,
  DecryptionError,
  derivePurposeKey,
  openEnvelope,
  RetiredRootKeyError,
  sealEnvelope,
  verifyKeyCheckValue,
  WrongRootKeyError,
  zeroize,
  type AesKeyObject,
  type RootKeyGenerationStatus,
} from '@spike-ts/core';
import { StoreIntegrityError } from './store-error.ts';

const SCHEME = 'spike-ts/store/root-keys/v1';
/** The context of the purpose key that seals a generation's own records (never a data row). */
const WRAP_CONTEXT = 'root-key-generations';
/** Most generations a store may have (a bound on the work of trying a key against each). */
export const MAX_GENERATIONS = 100_000;

export type GenerationState = 'rotating' | 'current' | 'retired';

/**
 * The keys were replaced (a rotation began, finished or was learnt of) and zeroed while a call
 * still held them: the call is run again with the current keys (nothing was written with them).
 */
export class KeysReplacedError extends Error {
  override readonly name = 'KeysReplacedError';
  constructor() {
    super('the row keys were replaced or destroyed while in use');
  }
}

/** One row of `root_keys` (generation 2 and later). */
export interface GenerationRow {
  readonly generation: number;
  readonly keyCheck: Uint8Array;
  readonly state: GenerationState;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly carry: Uint8Array | null;
  readonly up: Uint8Array | null;
  readonly down: Uint8Array | null;
}

/**
 * The keys one process holds for a store: per generation whose rows it may open, that generation's
 * storage key; the write generation; the index key; the raw root keys it needs for the next step
 * (the write generation's, and while rotating the previous one's). Immutable; `destroy` zeroes it.
 */
export class KeyRing {
  readonly writeGeneration: number;
  readonly rotating: RootKeyGenerationStatus['rotating'];
  readonly lastRotatedAt: number | undefined;
  readonly #storage: Map<number, AesKeyObject>;
  readonly #index: AesKeyObject;
  readonly #indexRaw: Uint8Array;
  readonly #roots: Map<number, Uint8Array>;
  readonly #olderCipher: Uint8Array[];
  #destroyed = false;

  constructor(init: {
    writeGeneration: number;
    rotating?: { from: number; to: number; startedAt: number };
    lastRotatedAt?: number;
    roots: Map<number, Uint8Array>;
    indexRaw: Uint8Array;
    olderCipher: Uint8Array[];
  }) {
    this.writeGeneration = init.writeGeneration;
    this.rotating = init.rotating;
    this.lastRotatedAt = init.lastRotatedAt;
    this.#roots = init.roots;
    this.#indexRaw = init.indexRaw;
    this.#olderCipher = init.olderCipher;
    this.#index = aesKeyObject(init.indexRaw);
    this.#storage = new Map();
    for (const [generation, root] of init.roots) {
      const derived = derivePurposeKey(root, 'storage');
      try {
        this.#storage.set(generation, aesKeyObject(derived));
      } finally {
        zeroize(derived);
      }
    }
  }

  status(): RootKeyGenerationStatus {
    return {
      generation: this.writeGeneration,
      ...(this.rotating === undefined ? {} : { rotating: this.rotating }),
      ...(this.lastRotatedAt === undefined ? {} : { lastRotatedAt: this.lastRotatedAt }),
    };
  }
  /** The storage key of `generation`, or undefined when this ring cannot open its rows. */
  storageKey(generation: number): AesKeyObject | undefined {
    this.#alive();
    return this.#storage.get(generation);
  }
  indexKey(): AesKeyObject {
    this.#alive();
    return this.#index;
  }
  /** Runs `fn` with the raw root key of `generation` (the write generation by default). */
  withRoot<T>(fn: (root: Uint8Array) => T, generation = this.writeGeneration): T {
    this.#alive();
    const root = this.#roots.get(generation);
    if (root === undefined) throw new Error(`no root key of generation ${String(generation)} is held`);
    return fn(root);
  }
  withIndexRaw<T>(fn: (raw: Uint8Array) => T): T {
    this.#alive();
    return fn(this.#indexRaw);
  }
  olderCipherKeys(): Uint8Array[] {
    this.#alive();
    return this.#olderCipher.map((k) => Uint8Array.from(k));
  }
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    zeroize(this.#indexRaw, ...this.#roots.values(), ...this.#olderCipher);
    this.#storage.clear();
    this.#roots.clear();
  }
  #alive(): void {
    if (this.#destroyed) throw new KeysReplacedError();
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function wrapKey(root: Uint8Array): AesKeyObject {
  const derived = derivePurposeKey(root, 'storage', WRAP_CONTEXT);
  try {
    return aesKeyObject(derived);
  } finally {
    zeroize(derived);
  }
}

const aad = (what: 'carry' | 'up' | 'down', generation: number): Uint8Array =>
  associatedData(SCHEME, 'root_keys', what, String(generation));

function seal(
  root: Uint8Array,
  what: 'carry' | 'up' | 'down',
  generation: number,
  bytes: Uint8Array,
): Uint8Array {
  return sealEnvelope(wrapKey(root), generation, bytes, aad(what, generation));
}

function open(
  root: Uint8Array,
  what: 'carry' | 'up' | 'down',
  generation: number,
  envelope: Uint8Array,
): Uint8Array {
  try {
    return openEnvelope(wrapKey(root), envelope, aad(what, generation));
  } catch (err) {
    if (err instanceof DecryptionError) {
      throw new StoreIntegrityError(
        `table root_keys, generation ${String(generation)}: ${what} does not authenticate`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

interface Carry {
  index: Uint8Array;
  olderCipher: Uint8Array[];
}

function sealCarry(root: Uint8Array, generation: number, carry: Carry): Uint8Array {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const plain = encoder.encode(JSON.stringify({ i: hex(carry.index), c: carry.olderCipher.map(hex) }));
  try {
    return seal(root, 'carry', generation, plain);
  } finally {
    zeroize(plain);
  }
}

function openCarry(root: Uint8Array, generation: number, envelope: Uint8Array): Carry {
  const plain = open(root, 'carry', generation, envelope);
  try {
    const o = JSON.parse(decoder.decode(plain)) as { i?: unknown; c?: unknown };
    const key = (v: unknown): Uint8Array => {
      if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new TypeError('bad key');
      return Uint8Array.from(Buffer.from(v, 'hex'));
    };
    if (!Array.isArray(o.c)) throw new TypeError('bad carry');
    return { index: key(o.i), olderCipher: o.c.map(key) };
  } catch (err) {
    throw new StoreIntegrityError(`table root_keys, generation ${String(generation)}: carry is malformed`, {
      cause: err,
    });
  } finally {
    zeroize(plain);
  }
}

function openRoot(
  root: Uint8Array,
  what: 'up' | 'down',
  generation: number,
  envelope: Uint8Array | null,
): Uint8Array {
  if (envelope === null) {
    throw new StoreIntegrityError(
      `table root_keys, generation ${String(generation)}: the ${what} key is missing`,
    );
  }
  const key = open(root, what, generation, envelope);
  if (key.byteLength !== 32)
    throw new StoreIntegrityError(`table root_keys: a wrapped root key is not 32 bytes`);
  return key;
}

/** Checks the rows a backend read: ascending generations 2, 3, ...; only the newest may be unfinished. */
export function checkGenerationRows(rows: readonly GenerationRow[]): void {
  rows.forEach((r, i) => {
    if (r.generation !== i + 2)
      throw new StoreIntegrityError('table root_keys: generations are not 2, 3, ... without gaps');
    // Only the newest may be unfinished; while it is, the one before is still current.
    const sourceOfRotation = i === rows.length - 2 && rows.at(-1)?.state === 'rotating';
    if (i < rows.length - 1 && r.state !== (sourceOfRotation ? 'current' : 'retired'))
      throw new StoreIntegrityError('table root_keys: an older generation is not retired');
    if (i === rows.length - 1 && r.state === 'retired')
      throw new StoreIntegrityError('table root_keys: the newest generation is retired');
  });
  if (rows.length > MAX_GENERATIONS) throw new StoreIntegrityError('table root_keys: too many generations');
}

/** The generation-1 ring: everything derived from the one root key. */
export function firstKeyRing(root: Uint8Array): KeyRing {
  return new KeyRing({
    writeGeneration: 1,
    roots: new Map([[1, Uint8Array.from(root)]]),
    indexRaw: derivePurposeKey(root, 'storage-index'),
    olderCipher: [],
  });
}

/**
 * The ring a candidate root key yields for a store whose key-check value is `keyCheck` (generation
 * 1; undefined = fresh store, the caller records it first) and whose generation rows are `rows`.
 * Throws `WrongRootKeyError` for a key of no generation and `RetiredRootKeyError` for a retired one.
 * The candidate stays the caller's (copies are kept).
 */
export function resolveKeyRing(
  candidate: Uint8Array,
  keyCheck: Uint8Array,
  rows: readonly GenerationRow[],
): KeyRing {
  checkGenerationRows(rows);
  const checkOf = (generation: number): Uint8Array | undefined =>
    generation === 1 ? keyCheck : rows[generation - 2]?.keyCheck;
  let generation = 0;
  for (let g = rows.length + 1; g >= 1; g--) {
    const kcv = checkOf(g);
    if (kcv !== undefined && verifyKeyCheckValue(candidate, kcv)) {
      generation = g;
      break;
    }
  }
  if (generation === 0) throw new WrongRootKeyError();
  const newest = rows.at(-1);
  if (newest === undefined) return firstKeyRing(candidate);
  const lastFinished = [...rows].reverse().find((r) => r.state !== 'rotating' && r.finishedAt !== null);
  const lastRotatedAt = lastFinished?.finishedAt ?? undefined;
  const rotating = newest.state === 'rotating';
  const to = newest.generation;
  const from = to - 1;
  if (generation === to || (rotating && generation === from)) {
    const roots = new Map<number, Uint8Array>();
    const toRoot = generation === to ? Uint8Array.from(candidate) : openRoot(candidate, 'up', to, newest.up);
    roots.set(to, toRoot);
    if (!verifyKeyCheckValue(toRoot, newest.keyCheck)) {
      zeroize(toRoot);
      throw new StoreIntegrityError(
        'table root_keys: the wrapped root key does not match its key-check value',
      );
    }
    if (rotating) {
      const fromRoot =
        generation === from ? Uint8Array.from(candidate) : openRoot(candidate, 'down', to, newest.down);
      const fromCheck = checkOf(from);
      if (fromCheck === undefined || !verifyKeyCheckValue(fromRoot, fromCheck)) {
        zeroize(fromRoot, toRoot);
        throw new StoreIntegrityError(
          'table root_keys: the wrapped root key does not match its key-check value',
        );
      }
      roots.set(from, fromRoot);
    }
    if (newest.carry === null)
      throw new StoreIntegrityError('table root_keys: the current generation has no carry');
    const carry = openCarry(toRoot, to, newest.carry);
    return new KeyRing({
      writeGeneration: to,
      ...(rotating ? { rotating: { from, to, startedAt: newest.startedAt } } : {}),
      ...(lastRotatedAt === undefined ? {} : { lastRotatedAt }),
      roots,
      indexRaw: carry.index,
      olderCipher: carry.olderCipher,
    });
  }
  // Retired: the generation after it says when it was retired.
  throw new RetiredRootKeyError(generation, rows[generation - 1]?.finishedAt ?? undefined);
}

/** The row that begins a rotation from `ring`'s generation to the next, for `newRoot`. */
export function beginRow(ring: KeyRing, newRoot: Uint8Array, now: number): GenerationRow {
  const from = ring.writeGeneration;
  const to = from + 1;
  return ring.withRoot((oldRoot) => {
    if (constantTimeEqual(oldRoot, newRoot)) throw new RangeError('the new root key equals the current one');
    const oldCipher = derivePurposeKey(oldRoot, 'cipher');
    try {
      const carry = ring.withIndexRaw((index) =>
        sealCarry(newRoot, to, { index, olderCipher: [oldCipher, ...ring.olderCipherKeys()] }),
      );
      return {
        generation: to,
        keyCheck: computeKeyCheckValue(newRoot),
        state: 'rotating',
        startedAt: now,
        finishedAt: null,
        carry,
        up: seal(oldRoot, 'up', to, newRoot),
        down: seal(newRoot, 'down', to, oldRoot),
      };
    } finally {
      zeroize(oldCipher);
    }
  });
}

/** The generation of an envelope's header, as big-endian bytes (what the backends filter rows by). */
export function generationBytes(generation: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, generation, false);
  return out;
}

/** The ring to use from now on after `finish` (the old generation's keys dropped). */
export function finishedRing(ring: KeyRing, now: number): KeyRing {
  const to = ring.writeGeneration;
  const root = ring.withRoot((r) => Uint8Array.from(r));
  return new KeyRing({
    writeGeneration: to,
    lastRotatedAt: now,
    roots: new Map([[to, root]]),
    indexRaw: ring.withIndexRaw((r) => Uint8Array.from(r)),
    olderCipher: ring.olderCipherKeys(),
  });
}
