/**
 * Keycloak, the OpenID Connect provider the people tests and `npm run demo -- --people` run
 * against (test/support/keycloak.ts starts it). The distribution `org.keycloak:keycloak-quarkus-dist`
 * comes from Maven Central; its SHA-512 is pinned here and must also match the checksum Maven
 * Central publishes next to it. It runs on a JDK 21 or newer (scripts/tools/jdk.ts finds one).
 *
 * Layout: `bin/dist/` is the unpacked distribution; `bin/kc` runs its `kc.sh`. Installing also
 * runs Keycloak's build step once for development mode with the options the harness starts it with
 * (`KEYCLOAK_DEV_BUILD_OPTIONS`), so a test's start does not spend half a minute re-building; the
 * harness copies the few built files into each run's own home folder and never writes here.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { pipeline } from 'node:stream/promises';
import { findJdk, noJdkMessage } from './jdk.ts';
import { onPath, runStep } from './process.ts';
import type { Tool, ToolBuild } from './tool.ts';
import { freePorts } from '../free-ports.ts';

const VERSION = '26.7.3';
const ARTIFACT = `keycloak-quarkus-dist-${VERSION}.tar.gz`;
const URL_BASE = `https://repo.maven.apache.org/maven2/org/keycloak/keycloak-quarkus-dist/${VERSION}`;
/** SHA-512 of the tar.gz, as published on Maven Central when this version was pinned. */
const SHA512 =
  '664c8ac2997d94b69825af70acc3a6017a7a53a1504a6e21b2d82a04e5f53593b30cabdf80ffe3eb661f13442a57fbc15c4186a1899f2841e8145532e5ae7e1c';

/** Keycloak 26 runs on Java 21 or newer. */
export const KEYCLOAK_JAVA_MIN = 21;

/**
 * Build-time options every development-mode start passes. Keycloak re-runs its (slow) build when
 * they differ from the ones it was built with, so the installer builds with exactly these.
 */
export const KEYCLOAK_DEV_BUILD_OPTIONS: readonly string[] = ['--health-enabled=true'];

/** The unpacked distribution inside the tool's `bin` folder. */
export const KEYCLOAK_DIST_DIR = 'dist';

/** Marker the install-time Java wrapper prints instead of starting the built server. */
const BUILT_MARKER = 'spike-tools: keycloak build done';

function withJavaHome(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { jdk } = findJdk(env, KEYCLOAK_JAVA_MIN);
  return jdk === undefined ? env : { ...env, JAVA_HOME: jdk.home };
}

/**
 * Trusts the operating system's CA store as well as Node.js's bundled one, as curl and npm do: a
 * machine behind a TLS-inspecting proxy has its CA there, often without NODE_EXTRA_CA_CERTS.
 */
function trustSystemCAs(): void {
  const system = tls.getCACertificates('system');
  tls.setDefaultCACertificates([...new Set([...tls.getCACertificates('default'), ...system])]);
}

/** fetch, with the reason of a network failure in the message (fetch itself says "fetch failed"). */
async function get(url: string, timeoutMs: number): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    throw new Error(`GET ${url} failed (${err instanceof Error ? err.message : String(err)}${cause})`);
  }
  if (!res.ok || res.body === null) throw new Error(`GET ${url}: HTTP ${String(res.status)}`);
  return res;
}

async function download(url: string, file: string): Promise<string> {
  const res = await get(url, 15 * 60_000);
  const hash = createHash('sha512');
  const body = Readable.fromWeb(res.body!);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  return hash.digest('hex');
}

/**
 * Runs Keycloak's development-mode build in `dist` and stops before the server starts: `kc.sh`
 * honours `$JAVA`, and exit code 10 from Java ("re-built, start me again") makes it exec `$JAVA`
 * once more with `-Dkc.config.built=true`; the wrapper answers that second call with a marker.
 */
async function buildDevMode(ctx: ToolBuild, dist: string, javaHome: string): Promise<void> {
  const wrapper = join(ctx.workDir, 'java-build-only');
  await writeFile(
    wrapper,
    '#!/bin/sh\n' +
      `case " $* " in *" -Dkc.config.built=true "*) echo "${BUILT_MARKER}"; exit 0;; esac\n` +
      `exec "${javaHome}/bin/java" "$@"\n`,
  );
  await chmod(wrapper, 0o755);
  const [httpPort, managementPort] = (await freePorts(2)) as [number, number];
  const args = [
    'start-dev',
    ...KEYCLOAK_DEV_BUILD_OPTIONS,
    '--http-host=127.0.0.1',
    `--http-port=${String(httpPort)}`,
    `--http-management-port=${String(managementPort)}`,
  ];
  const env = { ...process.env, JAVA: wrapper, JAVA_HOME: javaHome };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(join(dist, 'bin', 'kc.sh'), args, {
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (c: Buffer): void => {
      out = (out + c.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // Should the build be skipped and the server start for real, stop it rather than hang.
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 20 * 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run kc.sh: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && out.includes(BUILT_MARKER)) resolve();
      else
        reject(
          new Error(
            `Keycloak's development-mode build did not finish (${signal ?? `exit ${String(code)}`}); ` +
              `its output ended with:\n${out.slice(-3000)}`,
          ),
        );
    });
  });
  // The build-only run must leave no server state behind in the shared copy.
  await rm(join(dist, 'data'), { recursive: true, force: true });
}

export const KEYCLOAK: Tool = {
  name: 'keycloak',
  version: VERSION,
  binaries: ['kc'],
  versionArgs: ['--version'],
  versionPattern: new RegExp(`^Keycloak ${VERSION.replaceAll('.', '\\.')}$`, 'm'),

  runEnv: withJavaHome,

  missingRequirements(env) {
    const missing: string[] = [];
    const search = findJdk(env, KEYCLOAK_JAVA_MIN);
    if (search.jdk === undefined) missing.push(noJdkMessage(KEYCLOAK_JAVA_MIN, search));
    if (!onPath('tar', env)) missing.push('tar (Debian/Ubuntu: apt-get install tar)');
    return Promise.resolve(missing);
  },

  async build(ctx: ToolBuild) {
    const { jdk } = findJdk(process.env, KEYCLOAK_JAVA_MIN);
    if (jdk === undefined) throw new Error(`no JDK ${String(KEYCLOAK_JAVA_MIN)} or newer found`);
    const url = `${URL_BASE}/${ARTIFACT}`;
    ctx.say(`checking the published SHA-512 of ${url}`);
    trustSystemCAs();
    const published = await get(`${url}.sha512`, 60_000);
    const publishedHex = (await published.text()).trim().split(/\s+/)[0]?.toLowerCase();
    if (publishedHex !== SHA512) {
      throw new Error(
        `Maven Central publishes SHA-512 ${String(publishedHex)} for ${ARTIFACT}, not the pinned ${SHA512}`,
      );
    }
    ctx.say(`downloading ${ARTIFACT} (about 170 MB) from Maven Central`);
    const archive = join(ctx.workDir, ARTIFACT);
    const got = await download(url, archive);
    if (got !== SHA512) throw new Error(`${ARTIFACT} has SHA-512 ${got}, expected ${SHA512}`);
    ctx.say('checksum matches; unpacking');
    await runStep('tar', ['-xzf', archive, '-C', ctx.binDir, '--no-same-owner'], process.env);
    const dist = join(ctx.binDir, KEYCLOAK_DIST_DIR);
    await rename(join(ctx.binDir, `keycloak-${VERSION}`), dist);
    await rm(archive, { force: true });
    ctx.say(`building it for development mode on Java ${jdk.version} (${jdk.home}); takes a minute`);
    await buildDevMode(ctx, dist, jdk.home);
    const kc = join(ctx.binDir, 'kc');
    await writeFile(kc, `#!/bin/sh\nexec "$(dirname "$0")/${KEYCLOAK_DIST_DIR}/bin/kc.sh" "$@"\n`);
    await chmod(kc, 0o755);
  },
};
