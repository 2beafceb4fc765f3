/**
 * Prints a Markdown before/after table of two `bench/results/*.json` files (same scenarios):
 *
 *   node bench/compare.ts <before.json> <after.json>
 */
import { readFileSync } from 'node:fs';
import type { ScenarioResult } from './scenario.ts';

interface Results {
  readonly scenarios: readonly ScenarioResult[];
  readonly seeding: Record<string, { perSecond: number }>;
  readonly memory: Record<string, { rssMiB: number }>;
}

const [beforeFile, afterFile] = process.argv.slice(2);
if (beforeFile === undefined || afterFile === undefined) {
  process.stderr.write('usage: node bench/compare.ts <before.json> <after.json>\n');
  process.exit(2);
}
const load = (f: string): Results => JSON.parse(readFileSync(f, 'utf8')) as Results;
const before = load(beforeFile);
const after = load(afterFile);
const pct = (a: number, b: number): string => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(0)}%`;
const fmt = (n: number): string => n.toLocaleString('en-US');

const out = [
  '| Scenario | Callers | Before | After | Change | p99 before | p99 after |',
  '|---|--:|--:|--:|--:|--:|--:|',
];
for (const a of after.scenarios) {
  const b = before.scenarios.find((s) => s.id === a.id);
  if (b === undefined) continue;
  out.push(
    `| ${a.title} | ${String(a.concurrency)} | ${fmt(b.median.throughput)}/s | ${fmt(a.median.throughput)}/s | ` +
      `${pct(b.median.throughput, a.median.throughput)} | ${b.median.p99.toFixed(2)} ms | ${a.median.p99.toFixed(2)} ms |`,
  );
}
// Secret seeding runs are counted runs at 64 callers; policy seeding is serialized by design.
for (const [label, s] of Object.entries(after.seeding)) {
  const b = before.seeding[label];
  if (b === undefined || !label.endsWith(' secrets')) continue;
  out.push(
    `| seeding: ${label} | 64 | ${fmt(b.perSecond)}/s | ${fmt(s.perSecond)}/s | ${pct(b.perSecond, s.perSecond)} | | |`,
  );
}
for (const [label, m] of Object.entries(after.memory)) {
  const b = before.memory[label];
  if (b === undefined) continue;
  out.push(
    `| Nexus RSS ${label} | | ${String(b.rssMiB)} MiB | ${String(m.rssMiB)} MiB | ${pct(b.rssMiB, m.rssMiB)} | | |`,
  );
}
process.stdout.write(out.join('\n') + '\n');
