/**
 * @module open-workload-source
 * Opens this CLI's SVID source from the SPIFFE Workload API. A CLI should not sit for the
 * whole source timeout when the agent socket does not even exist, so that case fails at once.
 */
import { existsSync } from 'node:fs';
import { createX509Source, resolveWorkloadEndpoint } from '@spike-ts/identity/client';
import type { X509Source } from '@spike-ts/identity/client';

export async function openWorkloadSource(
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs?: number,
): Promise<X509Source> {
  const endpoint = resolveWorkloadEndpoint(undefined, env);
  if (endpoint.kind === 'unix' && !existsSync(endpoint.path)) {
    throw new Error(`the socket ${endpoint.path} does not exist`);
  }
  return createX509Source({ env: { ...env }, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
}
