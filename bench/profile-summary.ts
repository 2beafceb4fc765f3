/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): the top frames by self time and by
 * total (inclusive) time, as shares of the busy (non-idle) time. Also a CLI:
 *
 *   node bench/profile-summary.ts <file.cpuprofile> [top]
 */
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface FrameShare {
  readonly frame: string;
  /** Percent of busy time. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly busyMs: number;
  readonly idleMs: number;
  readonly topSelf: readonly FrameShare[];
  readonly topTotal: readonly FrameShare[];
  /** Self time by area: node internals, our packages, dependencies, GC, native. */
  readonly byArea: readonly FrameShare[];
}

function frameName(cf: CallFrame): string {
  const fn = cf.functionName === '' ? '(anonymous)' : cf.functionName;
  if (cf.url === '') return fn;
  const url = cf.url.replace(/^file:\/\//, '');
  const pkg = /packages\/([^/]+)\/src\/(.+)$/.exec(url);
  const where =
    pkg !== null ? `${pkg[1] ?? ''}/${pkg[2] ?? ''}` : url.startsWith('node:') ? url : basename(url);
  return `${fn} ${where}:${String(cf.lineNumber + 1)}`;
}

function area(cf: CallFrame): string {
  if (cf.url === '') {
    if (cf.functionName === '(garbage collector)') return 'garbage collector';
    if (cf.functionName === '(program)') return 'native / program';
    return cf.functionName.startsWith('(') ? cf.functionName : 'native builtins';
  }
  if (cf.url.startsWith('node:')) {
    const mod = /^node:(?:internal\/)?([a-z_]+)/.exec(cf.url)?.[1] ?? 'other';
    return `node:${mod}`;
  }
  const pkg = /packages\/([^/]+)\/src\//.exec(cf.url);
  if (pkg !== null) return `@spike-ts/${pkg[1] ?? ''}`;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(cf.url);
  if (dep !== null) return dep[1] ?? 'dependency';
  return 'other';
}

/**
 * `fromMicros`/`toMicros`: only samples taken in this CLOCK_MONOTONIC window in microseconds (the
 * clock of V8's profile timestamps and of `process.hrtime`), e.g. one scenario without start-up
 * and seeding.
 */
export function summarizeProfile(
  profile: CpuProfile,
  top = 25,
  fromMicros = 0,
  toMicros = Number.POSITIVE_INFINITY,
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < fromMicros || at > toMicros) continue;
    const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(profile.samples[i] ?? -1);
    if (node === undefined) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    busy += dt;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + dt);
    const a = area(node.callFrame);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const cf = byId.get(id)?.callFrame;
      if (cf === undefined || cf.functionName === '(root)') continue;
      const n = frameName(cf);
      if (seen.has(n)) continue;
      seen.add(n);
      total.set(n, (total.get(n) ?? 0) + dt);
    }
  }
  const rank = (m: Map<string, number>, k: number): FrameShare[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([frame, ms]) => ({ frame, percent: busy === 0 ? 0 : Math.round((ms / busy) * 1000) / 10 }));
  return {
    busyMs: Math.round(busy),
    idleMs: Math.round(idle),
    topSelf: rank(self, top),
    topTotal: rank(total, top),
    byArea: rank(areas, 20),
  };
}

/**
 * Summarizes every `.cpuprofile` in `dir` (one per thread: the main thread first, then API
 * threads) after copying each to the temp directory, where it stays for a closer look. Empty when
 * no profile was written.
 */
export function summarizeProfileDir(
  dir: string,
  fromMicros: number,
  toMicros?: number,
): { file: string; thread: number; summary: ProfileSummary }[] {
  if (!existsSync(dir)) return [];
  // node names them CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile
  const threadOf = (name: string): number => Number(name.split('.').at(-3) ?? 0);
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => threadOf(a) - threadOf(b));
  return names.map((name) => {
    const file = join(tmpdir(), `spike-nexus-${String(Date.now())}-${basename(name)}`);
    cpSync(join(dir, name), file);
    return {
      file,
      thread: threadOf(name),
      summary: summarizeProfile(readProfile(file), 30, fromMicros, toMicros),
    };
  });
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

export function formatSummary(s: ProfileSummary): string {
  const lines = [`busy ${String(s.busyMs)} ms, idle ${String(s.idleMs)} ms`, '', 'self time by area:'];
  for (const f of s.byArea) lines.push(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.frame}`);
  lines.push('', 'top frames by self time:');
  for (const f of s.topSelf) lines.push(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.frame}`);
  lines.push('', 'top frames by total time:');
  for (const f of s.topTotal) lines.push(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.frame}`);
  return lines.join('\n');
}

if (import.meta.main) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node bench/profile-summary.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(
    formatSummary(summarizeProfile(readProfile(file), Number(process.argv[3] ?? 25))) + '\n',
  );
}
