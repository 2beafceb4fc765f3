/**
 * Where the metrics tests find `promtool`: the per-user tools cache that `npm run tools:install`
 * (run by `npm test` first) fills, or `PROMTOOL` naming a binary. Missing is an error, never a
 * skip: these tests exist to prove that real Prometheus accepts what Nexus serves.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { missingBinaries, toolBinDir } from '../../scripts/tools/registry.ts';
import { PROMTOOL } from '../../scripts/tools/promtool.ts';

export function requirePromtool(): string {
  const override = process.env.PROMTOOL?.trim();
  if (override !== undefined && override !== '') return override;
  const binDir = toolBinDir(PROMTOOL);
  if (missingBinaries(PROMTOOL, binDir).length > 0) {
    throw new Error(
      `promtool ${PROMTOOL.version} is not installed in ${binDir}. Run \`npm run tools:install\` to build it ` +
        'into the tools cache (needs Go and the Go module proxy; `npm test` does it first), or set PROMTOOL ' +
        'to a promtool binary, then run the tests again.',
    );
  }
  return join(binDir, 'promtool');
}

export interface PromtoolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `promtool <args>` (in `cwd`, if given) with `stdin` and collects its output. */
export function promtool(args: readonly string[], stdin?: string, cwd?: string): Promise<PromtoolResult> {
  const bin = requirePromtool();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(cwd === undefined ? {} : { cwd }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    // A promtool that exits before reading everything: its exit code says why.
    child.stdin.on('error', () => undefined);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}
