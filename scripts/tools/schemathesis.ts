/**
 * Schemathesis, the property-based API fuzzer that drives a real Nexus and keeper from
 * docs/openapi.yaml (test/fuzz/, ADR 0028). Installed from PyPI into a Python virtual environment
 * in the tools cache, never into the checkout.
 *
 * Layout: `bin/venv/` is the virtual environment; `bin/schemathesis` is a small shell wrapper that
 * runs `python -m schemathesis.cli` with the environment's interpreter. The wrapper finds it next
 * to itself, so the install still works after it is renamed into place (a venv's own scripts
 * would not: their first lines name the folder they were built in).
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commandOutput, onPath, runStep } from './process.ts';
import type { Tool, ToolBuild } from './tool.ts';

const VERSION = '4.32.5';
/** Schemathesis 4.32 requires Python 3.11 or newer. */
const PYTHON_MIN: readonly [number, number] = [3, 11];
const FALLBACK_PYTHON = '/usr/bin/python3';

/** `3.11.7` -> [3, 11]; undefined when the text is not a Python version. */
export function pythonMinor(text: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(text.trim());
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}

const PROBE = 'import sys, venv, ensurepip; print("%d.%d.%d" % sys.version_info[:3]); print(sys.executable)';

/** The first Python (python3 on PATH, then /usr/bin/python3) that is new enough and can make a venv. */
async function findPython(env: NodeJS.ProcessEnv): Promise<{ exe?: string; problems: string[] }> {
  const problems: string[] = [];
  const candidates = [...(onPath('python3', env) ? ['python3'] : []), FALLBACK_PYTHON];
  for (const candidate of candidates) {
    let out: string;
    try {
      out = await commandOutput(candidate, ['-c', PROBE], env);
    } catch {
      problems.push(
        `${candidate} cannot create a virtual environment (Debian/Ubuntu: apt-get install python3-venv)`,
      );
      continue;
    }
    const [version = '', exe = ''] = out.trim().split('\n');
    const found = pythonMinor(version);
    if (
      found === undefined ||
      found[0] < PYTHON_MIN[0] ||
      (found[0] === PYTHON_MIN[0] && found[1] < PYTHON_MIN[1])
    ) {
      problems.push(`${candidate} is Python ${version || 'of unknown version'}`);
      continue;
    }
    return { exe: exe.trim(), problems };
  }
  return { problems };
}

export const SCHEMATHESIS: Tool = {
  name: 'schemathesis',
  version: VERSION,
  binaries: ['schemathesis'],
  versionArgs: ['--version'],
  versionPattern: new RegExp(`version ${VERSION.replaceAll('.', '\\.')}\\b`),

  async missingRequirements(env) {
    const { exe, problems } = await findPython(env);
    if (exe !== undefined) return [];
    return [
      `Python >= ${PYTHON_MIN.join('.')} with the venv module as python3 on PATH or ${FALLBACK_PYTHON}` +
        (problems.length > 0 ? ` (${problems.join('; ')})` : ''),
    ];
  },

  async build(ctx: ToolBuild) {
    const { exe } = await findPython(process.env);
    if (exe === undefined) throw new Error('no usable Python found');
    const venv = join(ctx.binDir, 'venv');
    ctx.say(`creating a virtual environment with ${exe}`);
    await runStep(exe, ['-m', 'venv', venv], process.env);
    ctx.say(`installing schemathesis==${VERSION} from PyPI`);
    await runStep(
      join(venv, 'bin', 'python'),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `schemathesis==${VERSION}`],
      process.env,
    );
    const wrapper = join(ctx.binDir, 'schemathesis');
    await writeFile(wrapper, '#!/bin/sh\nexec "$(dirname "$0")/venv/bin/python" -m schemathesis.cli "$@"\n');
    await chmod(wrapper, 0o755);
  },
};
