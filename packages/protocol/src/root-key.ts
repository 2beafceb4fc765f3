/**
 * Online root-key rotation (ours, not in SPIKE; ADR 0044): wire types and decoder of
 * `POST /v1/operator/root-key/rotate` (begin a rotation) and `POST /v1/operator/root-key/status`
 * (where it stands). Their specs are in `route-table.ts` with the others.
 */
import { BadRequestError } from './api-error.ts';
import type { ErrorField } from './wire.ts';

export const URL_OPERATOR_ROOT_KEY_ROTATE = '/v1/operator/root-key/rotate';
export const URL_OPERATOR_ROOT_KEY_STATUS = '/v1/operator/root-key/status';
/** The path an approval rule names to gate rotation (the approvals contract; optional). */
export const SYSTEM_PATH_ROOT_KEY = 'spike/system/root-key';

/** What this Nexus is doing about a rotation. */
export const ROTATION_PHASES = Object.freeze([
  'idle',
  'pushing-shares',
  're-sealing',
  'waiting-for-keepers',
  'finishing',
] as const);
export type RotationPhase = (typeof ROTATION_PHASES)[number];

export type RootKeyRequest = Record<string, never>;

export interface RootKeyStatusResponse extends ErrorField {
  /** The root-key generation new rows are sealed under (1 = the bootstrap key). */
  generation: number;
  /** True while rows may still be sealed under the previous generation. */
  rotating: boolean;
  /** The generation being retired (0 when not rotating). */
  from: number;
  phase: RotationPhase;
  /** ISO time the unfinished rotation began ('' when none). */
  startedAt: string;
  /** ISO time the last rotation finished ('' when none). */
  lastRotatedAt: string;
  /** Sealed rows in the store (secret heads and versions, policies, named keys, ...). */
  rowsTotal: number;
  /** Rows still sealed under an older generation. */
  rowsRemaining: number;
}

/** `{}` (or no body); unknown fields are ignored, as in every request of the API. */
/** The status as a handler returns it (the wire body without its error field). */
export type RootKeyStatus = Omit<RootKeyStatusResponse, 'err'>;

export function decodeRootKeyRequest(body: unknown): RootKeyRequest {
  if (body !== null && body !== undefined && (typeof body !== 'object' || Array.isArray(body))) {
    throw new BadRequestError('body: a root-key request must be a JSON object');
  }
  return {};
}
