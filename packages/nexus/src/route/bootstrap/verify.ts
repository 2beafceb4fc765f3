/**
 * `POST /v1/bootstrap/verify` — SPIKE's proof of possession: Bootstrap encrypts random bytes
 * with AES-256-GCM keyed by the root key itself; we decrypt and answer the SHA-256 (hex) of the
 * plaintext. Only the Bootstrap role. Any failure is 500, as SPIKE.
 */
import { aesGcmDecrypt, sha256Hex, zeroize } from '@spike-ts/core';
import { BOOTSTRAP_VERIFY, BadRequestError, CIPHER_NONCE_SIZE, InternalError } from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { jsonRoute, type Route } from '../route.ts';

/** Bootstrap sends 64 hex characters; anything near this size is plenty. */
const MAX_VERIFY_CIPHERTEXT = 4096;

export function bootstrapVerifyRoute(deps: RouteDeps): Route {
  return jsonRoute(BOOTSTRAP_VERIFY, {
    subject: () => ({}),
    authorize: (peerId) => deps.authz.bootstrapVerify(peerId),
    validate(req) {
      if (req.nonce.length !== CIPHER_NONCE_SIZE) throw new BadRequestError('nonce: must be 12 bytes');
      if (req.ciphertext.length > MAX_VERIFY_CIPHERTEXT) throw new BadRequestError('ciphertext: too large');
      return req;
    },
    handle(req) {
      let plaintext: Uint8Array | undefined;
      try {
        plaintext = deps.state.withRootKey((rootKey) => aesGcmDecrypt(rootKey, req.nonce, req.ciphertext));
        const hash = sha256Hex(plaintext);
        return Promise.resolve({ hash });
      } catch (err) {
        return Promise.reject(new InternalError('bootstrap verification failed', { cause: err }));
      } finally {
        zeroize(plaintext);
      }
    },
  });
}
