/**
 * Child process for the SPIRE suite: runs our Workload API client (`createX509Source`) as whatever
 * role it was started as (the Node.js link it runs from), against `SPIFFE_ENDPOINT_SOCKET`, and
 * prints one JSON line: the SVID's SPIFFE ID, serial and bundles, the JWT bundles, the subject of
 * a JWT-SVID verified locally with those bundles, and which errors made it retry (also as
 * `retry <CODE>` lines on stderr) — or the error when no SVID arrived within the timeout.
 *
 *   node fetch-svid.ts <timeoutMs>
 */
import { X509Certificate } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { JWK } from 'jose';
import { createX509Source, fetchJwtBundles, fetchJwtSvid } from '@spike-ts/identity';
import type { IdentityLogger } from '@spike-ts/identity';

const timeoutMs = Number(process.argv[2] ?? '10000');
const retries: string[] = [];
/** Every reconnect is logged with its gRPC `code`: the first at warn, later ones at debug. */
const noteRetry = (_msg: string, fields?: Record<string, unknown>): void => {
  if (typeof fields?.['code'] === 'string' && typeof fields['retryInMs'] === 'number') {
    retries.push(fields['code']);
    process.stderr.write(`retry ${fields['code']}\n`);
  }
};
const logger: IdentityLogger = {
  debug: noteRetry,
  info: () => undefined,
  warn: noteRetry,
  error: () => undefined,
};
const b64 = (der: Uint8Array): string => Buffer.from(der).toString('base64');

try {
  const source = await createX509Source({
    env: process.env,
    timeoutMs,
    logger,
    backoffStepMs: 200,
    backoffMaxMs: 500,
  });
  try {
    const svid = source.getX509Svid();
    const leaf = svid.certChainDer[0];
    const bundles = Object.fromEntries(
      [...source.getX509Bundles()].map(([td, certs]) => [td, certs.map(b64)] as const),
    );
    const jwt = await fetchJwtBundles({ env: process.env, timeoutMs: 10_000 });
    // A JWT-SVID from the same agent, verified locally against the JWT bundle of its trust domain.
    const token = await fetchJwtSvid({ env: process.env, audience: 'spire-suite', timeoutMs: 10_000 });
    const td = new URL(token.spiffeId).host;
    // jose refuses keys whose `use` is not `sig`; SPIFFE bundles say `jwt-svid`.
    const keys = (jwt.get(td)?.keys ?? []).map(({ use: _use, ...key }: JWK) => key);
    const { payload } = await jwtVerify(token.token, createLocalJWKSet({ keys }), {
      audience: 'spire-suite',
      algorithms: ['ES256', 'ES384', 'RS256', 'PS256'],
    });
    const report = {
      ok: true,
      uid: process.getuid?.(),
      spiffeId: svid.spiffeId,
      serial: leaf === undefined ? '' : new X509Certificate(leaf).serialNumber,
      notAfter: svid.notAfter.toISOString(),
      chainLength: svid.certChainDer.length,
      bundles,
      jwtBundles: Object.fromEntries(jwt),
      jwtSpiffeId: token.spiffeId,
      jwtSubject: payload.sub,
      retries,
    };
    process.stdout.write(JSON.stringify(report) + '\n');
  } finally {
    await source.close();
  }
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stdout.write(JSON.stringify({ ok: false, name: e.name, message: e.message, retries }) + '\n');
  process.exitCode = 1;
}
