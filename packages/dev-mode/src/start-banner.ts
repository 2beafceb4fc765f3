/**
 * What `spike-dev` prints once everything listens: the DEVELOPMENT ONLY banner, where Nexus and
 * the Workload API sockets are, and the lines to paste so the `spike` CLI (superuser) and SDK
 * workloads get their identities.
 */
import { join } from 'node:path';
import type { DevStack } from './dev-stack.ts';

/** The identities used inside this process; the rest are printed for the developer. */
const INTERNAL = new Set(['nexus', 'keeper', 'bootstrap']);

export function startBanner(stack: DevStack): string {
  const { issuer, nexusUrl } = stack;
  const td = issuer.trustDomain;
  const socket = (name: string): string => issuer.endpointFor(name);
  const named = issuer.config.identities.filter((i) => !INTERNAL.has(i.name));
  const width = Math.max(...named.map((i) => i.name.length)) + 2;
  const { store } = stack;
  const storeLines =
    store.kind === 'memory'
      ? [`Nexus         ${nexusUrl}  (in-memory store)`]
      : [
          `Nexus         ${nexusUrl}  (SQLite in ${join(store.dataDir, 'nexus')}; root key ${String(stack.rootKey)})`,
          `Keepers       ${stack.keeperUrls.join(' ')}  (in this process, 2 of 3)`,
          `Recovery      ${join(store.dataDir, 'recovery', 'recover')}  (key material: keep it private)`,
        ];
  return [
    '',
    '==============================================================================',
    '  spike-dev: DEVELOPMENT ONLY — NOT FOR PRODUCTION',
    store.kind === 'memory'
      ? '  Secrets are kept in memory only and are gone when spike-dev stops.'
      : '  Secrets persist in the data directory, next to the recovery files that open them.',
    '  Identities come from a throwaway dev CA: any process that can open an',
    '  identity socket gets that identity. Use SPIRE and spike-nexus for anything real.',
    '==============================================================================',
    '',
    ...storeLines,
    `Workload API  ${issuer.config.socketDir}/<identity>.sock  (trust domain ${td})`,
    '',
    'Identities (SPIFFE_ENDPOINT_SOCKET for each):',
    ...named.map((i) => `  ${i.name.padEnd(width)}${i.spiffeId}\n  ${''.padEnd(width)}${socket(i.name)}`),
    '',
    'Use the spike CLI as superuser (in another terminal):',
    `  export SPIFFE_ENDPOINT_SOCKET=${socket('pilot')}`,
    `  export SPIKE_NEXUS_API_URL=${nexusUrl}`,
    '  spike secret put apps/demo/db username=dev password=-   # reads the password from stdin',
    '  spike secret get apps/demo/db',
    '',
    'A workload (SDK) uses its own identity and needs a policy:',
    `  spike policy apply --name demo-read --spiffeid-pattern '^spiffe://${td.replace(/\./g, '\\.')}/workload/demo$' \\`,
    "      --path-pattern '^apps/demo/.*$' --permissions read",
    `  SPIFFE_ENDPOINT_SOCKET=${socket('demo')} SPIKE_NEXUS_API_URL=${nexusUrl} node your-app.js`,
    `More workloads: start spike-dev with --identity <name>=spiffe://${td}/workload/<name> (repeatable);`,
    '  each gets <socket dir>/<name>.sock.',
    '',
    'spike-dev: ready (Ctrl-C stops everything and removes the sockets)',
    '',
  ].join('\n');
}
