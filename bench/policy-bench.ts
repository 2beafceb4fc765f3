/**
 * `npm run bench:policy`: CPU time per policy check of the policy engine (`@spike-ts/core`) with
 * 1, 1,000 and 10,000 policies, in process, measured with `process.cpuUsage` over a fixed number
 * of checks (robust to a busy machine, unlike requests per second). The caller is allowed by one
 * policy; the others belong to other workloads, with literal SPIFFE ID patterns
 * (`^spiffe://td/workload/app-N$`) or regex ones with a literal prefix (`^spiffe://td/workload/app-N(/.*)?$`).
 */
import { createPolicyEngine, type PolicyRecord } from '@spike-ts/core';
import type { Permission } from '@spike-ts/protocol';

const CHECKS = 200_000;
const PATHS = 10_000;
const CALLER = 'spiffe://td/workload/demo';

function policy(name: string, id: string, path: string, permissions: Permission[]): PolicyRecord {
  return { name, spiffeIdPattern: id, pathPattern: path, permissions, createdTime: 0, updatedTime: 0 };
}

function policies(count: number, idPattern: (i: number) => string): PolicyRecord[] {
  const out = [policy('reader', '^spiffe://td/workload/demo$', '^bench/.*$', ['read'])];
  for (let i = 1; i < count; i++)
    out.push(policy(`app-${String(i)}`, idPattern(i), `^apps/app-${String(i)}/.*$`, ['read']));
  return out;
}

/** Microseconds of CPU per check. */
function measure(
  records: PolicyRecord[],
  opts: { decisionCacheSize?: number; peerCacheSize?: number },
  peerOf: (i: number) => string,
): number {
  const engine = createPolicyEngine(opts);
  engine.load(records);
  for (let i = 0; i < 20_000; i++) engine.check(peerOf(i), `bench/read/${String(i % PATHS)}`, ['read']);
  const before = process.cpuUsage();
  let allowed = 0;
  for (let i = 0; i < CHECKS; i++) {
    if (engine.check(peerOf(i), `bench/read/${String(i % PATHS)}`, ['read']).allowed) allowed++;
  }
  const used = process.cpuUsage(before);
  if (allowed === 0) throw new Error('the caller was never allowed');
  return (used.user + used.system) / CHECKS;
}

const rows: string[] = ['| Case | 1 policy | 1,000 policies | 10,000 policies |', '|---|--:|--:|--:|'];
const cases: [
  string,
  (i: number) => string,
  { decisionCacheSize?: number; peerCacheSize?: number },
  (i: number) => string,
][] = [
  [
    'literal ID patterns, decision cached (the common case)',
    (i) => `^spiffe://td/workload/app-${String(i)}$`,
    {},
    () => CALLER,
  ],
  [
    'literal ID patterns, no decision cache',
    (i) => `^spiffe://td/workload/app-${String(i)}$`,
    { decisionCacheSize: 0 },
    () => CALLER,
  ],
  [
    'prefixed regex ID patterns, no decision cache',
    (i) => `^spiffe://td/workload/app-${String(i)}(/.*)?$`,
    { decisionCacheSize: 0 },
    () => CALLER,
  ],
  [
    'prefixed regex ID patterns, a new caller every check (no caches)',
    (i) => `^spiffe://td/workload/app-${String(i)}(/.*)?$`,
    { decisionCacheSize: 0, peerCacheSize: 1 },
    (i) => (i % 2 === 0 ? CALLER : `spiffe://td/workload/demo/${String(i)}`),
  ],
];
for (const [title, idPattern, opts, peerOf] of cases) {
  const cells = [1, 1000, 10_000].map(
    (n) => `${measure(policies(n, idPattern), opts, peerOf).toFixed(2)} µs`,
  );
  rows.push(`| ${title} | ${cells.join(' | ')} |`);
}
process.stdout.write(
  `CPU time per check (${CHECKS.toLocaleString('en-US')} checks each)\n\n${rows.join('\n')}\n`,
);
