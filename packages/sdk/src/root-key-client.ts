/**
 * @module root-key-client
 * SDK methods for online root-key rotation of a SPIKE-TS Nexus (ours, not SPIKE's; ADR 0044):
 * begin a rotation and follow it. The Pilot superuser, the Pilot recover role and admins may
 * begin one; those and auditors may follow it.
 */
import {
  ROOT_KEY_ROTATE,
  ROOT_KEY_STATUS,
  ROTATION_PHASES,
  type ResponseBody,
  type RootKeyStatus,
  type RouteSpec,
  type RotationPhase,
} from '@spike-ts/protocol';
import { readBool, readInt, readString } from './decode-response.ts';
import { SpikeError } from './spike-error.ts';

export type { RootKeyStatus } from '@spike-ts/protocol';

export interface RootKeyMethods {
  /**
   * Begin a rotation: Nexus makes a new root key, gives the keepers its shares and re-seals every
   * stored row in the background. Resolves with the status right after it began. A rotation that
   * is already in progress is refused (`SpikeBadRequestError`).
   */
  rotate(): Promise<RootKeyStatus>;
  /** The root key's generation and the progress of an unfinished rotation. */
  status(): Promise<RootKeyStatus>;
}

type Post = <Req, Decoded, Res>(
  spec: RouteSpec<Req, Decoded, Res>,
  body: Req,
) => Promise<{ readonly [K in keyof ResponseBody<Res>]?: unknown }>;

function readStatus(res: { readonly [K in keyof ResponseBody<RootKeyStatus>]?: unknown }): RootKeyStatus {
  const phase = readString(res, 'phase');
  if (!(ROTATION_PHASES as readonly string[]).includes(phase)) {
    throw new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed root-key status.');
  }
  return {
    generation: readInt(res, 'generation'),
    rotating: readBool(res, 'rotating'),
    from: readInt(res, 'from'),
    phase: phase as RotationPhase,
    startedAt: readString(res, 'startedAt'),
    lastRotatedAt: readString(res, 'lastRotatedAt'),
    rowsTotal: readInt(res, 'rowsTotal'),
    rowsRemaining: readInt(res, 'rowsRemaining'),
  };
}

export function createRootKeyMethods(post: Post): RootKeyMethods {
  return {
    rotate: async () => readStatus(await post(ROOT_KEY_ROTATE, {})),
    status: async () => readStatus(await post(ROOT_KEY_STATUS, {})),
  };
}
