/**
 * Proof of possession, SPIKE's format: random 32 bytes -> hex string (64 chars) -> AES-256-GCM
 * with the root key and a random 12-byte nonce -> `POST /v1/bootstrap/verify {nonce, ciphertext}`
 * (standard base64) -> Nexus answers `{"hash": hex(sha256(plaintext))}`, which must match.
 */
import { aesGcmEncrypt, constantTimeEqual, randomBytes, sha256Hex } from '@spike-ts/core';
import { URL_BOOTSTRAP_VERIFY } from '@spike-ts/protocol';
import type { BootstrapConfig } from './config.ts';
import { VerificationError } from './errors.ts';
import { retryWithBackoff, type RetryHooks } from './retry.ts';
import { joinUrl, type Post } from './transport.ts';

/** SPIKE's verification backoff: 500 ms doubling, capped at 60 s, until the timeout. */
export const VERIFY_INITIAL_DELAY_MS = 500;
export const VERIFY_MAX_DELAY_MS = 60_000;

export interface ProofOfPossession {
  readonly body: Buffer;
  readonly expectedHash: string;
}

export function createProofOfPossession(rootKey: Uint8Array): ProofOfPossession {
  const challenge = Buffer.from(Buffer.from(randomBytes(32)).toString('hex'), 'utf8');
  const nonce = randomBytes(12);
  const ciphertext = aesGcmEncrypt(rootKey, nonce, challenge);
  const expectedHash = sha256Hex(challenge);
  challenge.fill(0);
  const body = Buffer.from(
    JSON.stringify({
      nonce: Buffer.from(nonce).toString('base64'),
      ciphertext: Buffer.from(ciphertext).toString('base64'),
    }),
  );
  return { body, expectedHash };
}

class PermanentVerifyError extends Error {}

export async function verifyNexusHoldsKey(
  config: BootstrapConfig,
  postNexus: Post,
  rootKey: Uint8Array,
  progress: (line: string) => void,
  hooks: RetryHooks = {},
): Promise<void> {
  const now = hooks.now ?? Date.now;
  // Several Nexus URLs (replicas on one database, one set of keepers): any one may give the
  // proof; the attempts go round the list, so a replica that is down does not stop the run.
  const urls = (config.nexusApiUrls ?? [config.nexusApiUrl]).map((u) => joinUrl(u, URL_BOOTSTRAP_VERIFY));
  let attempt = 0;
  const proof = createProofOfPossession(rootKey);
  let hash: string;
  try {
    const outcome = await retryWithBackoff<string>(
      {
        maxAttempts: Infinity,
        initialDelayMs: VERIFY_INITIAL_DELAY_MS,
        maxDelayMs: VERIFY_MAX_DELAY_MS,
        deadline: now() + config.verificationTimeoutMs,
      },
      async (remaining) => {
        const url = urls[attempt++ % urls.length] ?? '';
        let res;
        try {
          res = await postNexus(url, proof.body, Math.min(remaining, 30_000));
        } catch (err) {
          return { done: false, error: err instanceof Error ? err : new Error(String(err)) };
        }
        if (res.status === 503) return { done: false, error: new Error('Nexus has no root key yet (503)') };
        if (res.status === 200) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(res.body.toString('utf8'));
          } catch {
            throw new PermanentVerifyError('Nexus answered the verification with a malformed body');
          }
          const h = (parsed as { hash?: unknown } | null)?.hash;
          if (typeof h !== 'string')
            throw new PermanentVerifyError('Nexus answered the verification without a hash');
          return { done: true, value: h };
        }
        if (res.status === 500) {
          throw new PermanentVerifyError(
            'Nexus could not decrypt the proof (500): it holds a different root key. Was it already initialized, ' +
              'or did it recover from keepers holding another key?',
          );
        }
        if (res.status === 401) throw new PermanentVerifyError('Nexus refused this bootstrap identity (401)');
        if (res.status >= 400 && res.status < 500) {
          throw new PermanentVerifyError(`Nexus rejected the verification request (HTTP ${res.status})`);
        }
        return { done: false, error: new Error(`HTTP ${res.status}`) };
      },
      {
        ...hooks,
        onRetry: (attempt, error, delay) => {
          progress(`  not verified yet (${error.message}); retrying in ${Math.round(delay / 100) / 10}s`);
          hooks.onRetry?.(attempt, error, delay);
        },
      },
    );
    if (!outcome.done) {
      throw new VerificationError(
        `Nexus did not prove it holds the new root key within SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT ` +
          `(${Math.round(config.verificationTimeoutMs / 1000)}s); last error: ${outcome.error.message}. ` +
          'Check that Nexus is running with the same SPIKE_NEXUS_KEEPER_PEERS and can reach the keepers.',
      );
    }
    hash = outcome.value;
  } catch (err) {
    if (err instanceof PermanentVerifyError) throw new VerificationError(err.message);
    throw err;
  } finally {
    proof.body.fill(0);
  }
  const ok = constantTimeEqual(Buffer.from(hash, 'utf8'), Buffer.from(proof.expectedHash, 'utf8'));
  if (!ok) {
    throw new VerificationError(
      'Nexus answered the verification with the wrong hash: it does not hold the new root key',
    );
  }
}
