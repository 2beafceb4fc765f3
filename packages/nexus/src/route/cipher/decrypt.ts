/**
 * `POST /v1/cipher/decrypt` — open what `/v1/cipher/encrypt` produced.
 * JSON: `{"version":1,"nonce":b64,"ciphertext":b64}` → `{"plaintext":b64}`; a ciphertext that
 * does not authenticate is 500 `api_internal_error` (as SPIKE).
 * Stream: `0x01 ‖ nonce ‖ ciphertext‖tag` → raw plaintext; errors are plain-text codes with 400.
 */
import { aesGcmDecrypt, DecryptionError, zeroize } from '@spike-ts/core';
import {
  CIPHER_DECRYPT,
  BadRequestError,
  InternalError,
  PlainTextError,
  StreamErrorCode,
  decodeCipherDecryptRequest,
  parseJsonBody,
  type CipherDecryptResponse,
  type ResponseBody,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { rawRoute, type RawResult, type Route, type RouteContext } from '../route.ts';
import {
  CIPHER_NONCE_SIZE,
  CIPHER_VERSION,
  isStreamMode,
  maxCiphertextSize,
  toBase64,
} from './cipher-mode.ts';

/**
 * Opens with the current cipher key, then with those of older root-key generations (a ciphertext
 * made before a root-key rotation, ADR 0044); fails like a single key when none opens it.
 */
function open(deps: RouteDeps, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return deps.state.withCipherKeys((keys) => {
    let failure: unknown = new DecryptionError();
    for (const key of keys) {
      try {
        return aesGcmDecrypt(key, nonce, ciphertext);
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
        failure = err;
      }
    }
    throw failure;
  });
}

async function decryptStream(
  deps: RouteDeps,
  ctx: RouteContext,
): Promise<RawResult<ResponseBody<CipherDecryptResponse>>> {
  const body = await ctx.readBody();
  if (body.length < 1) throw new PlainTextError(StreamErrorCode.FailedToReadVersion);
  if (body[0] !== CIPHER_VERSION) throw new PlainTextError(StreamErrorCode.UnsupportedVersion);
  if (body.length < 1 + CIPHER_NONCE_SIZE) throw new PlainTextError(StreamErrorCode.FailedToReadNonce);
  const nonce = body.subarray(1, 1 + CIPHER_NONCE_SIZE);
  const ciphertext = body.subarray(1 + CIPHER_NONCE_SIZE);
  if (ciphertext.length > maxCiphertextSize(deps.config.maxCipherSize)) {
    throw new PlainTextError(StreamErrorCode.BadRequest, 'ciphertext larger than the cipher size limit');
  }
  try {
    return { kind: 'octets', status: 200, body: open(deps, nonce, ciphertext) };
  } catch (err) {
    if (err instanceof DecryptionError) throw new PlainTextError(StreamErrorCode.DecryptionFailed);
    throw err;
  }
}

async function decryptJson(
  deps: RouteDeps,
  ctx: RouteContext,
): Promise<RawResult<ResponseBody<CipherDecryptResponse>>> {
  const req = decodeCipherDecryptRequest(parseJsonBody(await ctx.readBody()));
  if (req.version !== CIPHER_VERSION) throw new BadRequestError('unsupported cipher version');
  if (req.nonce.length !== CIPHER_NONCE_SIZE) throw new BadRequestError('nonce must be 12 bytes');
  if (req.ciphertext.length > maxCiphertextSize(deps.config.maxCipherSize)) {
    throw new BadRequestError('ciphertext larger than the cipher size limit');
  }
  let plaintext: Uint8Array | undefined;
  try {
    plaintext = open(deps, req.nonce, req.ciphertext);
    return { kind: 'json', status: 200, body: { plaintext: toBase64(plaintext) } };
  } catch (err) {
    if (err instanceof DecryptionError) throw new InternalError('cipher decryption failed');
    throw err;
  } finally {
    zeroize(plaintext);
  }
}

export function cipherDecryptRoute(deps: RouteDeps): Route {
  return rawRoute(CIPHER_DECRYPT, {
    authorize: (peerId) => deps.authz.cipher(peerId),
    handle: (ctx) => (isStreamMode(ctx.req) ? decryptStream(deps, ctx) : decryptJson(deps, ctx)),
  });
}
