/**
 * The container image (Dockerfile), as far as it can be checked without a container engine:
 *
 * - the Dockerfile's final stage is a shell-less glibc base, runs no command, runs as 65532:65532
 *   and holds the executables every deployment artifact starts (chart commands, unit ExecStarts);
 * - its file set is assembled in a temp folder: what the final stage COPYs (the executables built
 *   by `npm run build:exe`, hard links kept; the empty Nexus data directory owned by 65532) plus
 *   what the base image provides to it, emulated: exactly the shared libraries `ldd` lists (each
 *   of which the test checks is part of the base, glibc and the GCC runtime), `/etc/passwd` and
 *   `/etc/group` with `nonroot`, `/etc/nsswitch.conf`, `/tmp`; and `/etc/hosts`, which a container
 *   runtime mounts;
 * - every command runs from that root with no shell in it, as uid/gid 65532 and no capabilities,
 *   with the root mounted read-only and a tmpfs on /tmp, through user namespaces (`unshare`), so
 *   it works as root and as any user; with the image's ENV;
 * - a whole stack runs from it: keepers, Nexus on SQLite (its data directory the only writable
 *   mount besides /tmp) and bootstrap, then the CLI stores and reads a secret. The dev identity
 *   issuer runs outside, in the place of the SPIRE agent, its sockets mounted in.
 *
 * Not checked: `docker build` itself (no engine here), the real base image's contents (it is not
 * pulled; the emulation above stands in for it), hard links surviving the engine's COPY.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buildExecutables, COMPONENTS, EXE_DIR, MULTI_CALL } from '../../scripts/exe/build.ts';
import { Stack } from '../../scripts/stack.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NONROOT = 65532;
/** Shared libraries the final stage's base (distroless `cc`) provides: glibc and the GCC runtime. */
const BASE_LIBRARIES = [
  /^\/lib64\/ld-linux-x86-64\.so\.2$/,
  /^\/lib\/x86_64-linux-gnu\/lib(c|m|dl|pthread|rt)\.so\.\d+$/,
  /^\/lib\/x86_64-linux-gnu\/libgcc_s\.so\.1$/,
  /^\/lib\/x86_64-linux-gnu\/libstdc\+\+\.so\.6$/,
];

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Dockerfile -> stages of instructions (continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    assert.ok(m !== null, `not a Dockerfile instruction: ${line}`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(f !== null, `FROM ${args}`);
      stages.push({ from: f[1]!, name: f[2], instructions: [] });
    } else {
      assert.ok(stages.length > 0, `${op} before FROM`);
      stages[stages.length - 1]!.instructions.push({ op, args });
    }
  }
  return stages;
}

/** `ENV A=1 \ B=2` -> { A: '1', B: '2' } (unquoted values only, as ours are). */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.op === 'ENV')) {
    for (const pair of i.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      assert.ok(eq > 0, `ENV ${pair}: use KEY=value`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

const isRoot = process.getuid?.() === 0;

/** The libraries `ldd` lists for `file` (absolute paths; the vDSO has none). */
function sharedLibraries(file: string): string[] {
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ldd ${file}: ${r.stderr}`);
  return [...r.stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

describe('container image (Dockerfile)', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = parseDockerfile(dockerfile);
  const final = stages[stages.length - 1]!;
  let dir = '';
  let rootfs = '';
  let wrappers = '';
  let stack: Stack | undefined;

  /**
   * Runs `command` from the image root as the image runs it: uid/gid 65532, no capabilities, root
   * read-only, tmpfs on /tmp, `binds` (host folders, at the same path inside or at the given one)
   * writable. `mkdir` of a bind's mount point only succeeds under /tmp or where it already exists.
   */
  function imageCommand(
    binds: ReadonlyArray<string | [host: string, inside: string]>,
    command: readonly string[],
  ): [string, string[]] {
    const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
    const script = [
      'set -e',
      `R=${q(rootfs)}`,
      'mount --bind "$R" "$R"',
      'mount -o remount,bind,ro "$R"',
      'mount -t tmpfs -o mode=1777,size=16m tmpfs "$R/tmp"',
      ...binds.flatMap((b) => {
        const [host, inside] = typeof b === 'string' ? [b, b] : b;
        return [`mkdir -p "$R"${q(inside)}`, `mount --bind ${q(host)} "$R"${q(inside)}`];
      }),
      // allowPrivilegeEscalation: false in the chart, NoNewPrivileges in the units.
      `exec setpriv --no-new-privs unshare --user --map-user=${String(NONROOT)} --map-group=${String(NONROOT)} --root="$R" --wd=/ "$@"`,
    ].join('\n');
    return ['unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script, 'sh', ...command]];
  }

  /** The image's environment (its ENV), nothing of the test's own. */
  const imageEnv = (): Record<string, string> => ({
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ...envOf(final),
  });

  before(async () => {
    // The sandbox needs user namespaces and util-linux's unshare >= 2.38 (--map-user).
    const probe = spawnSync(
      'unshare',
      ['--user', '--map-root-user', '--mount', 'unshare', '--user', `--map-user=${String(NONROOT)}`, 'true'],
      { encoding: 'utf8' },
    );
    if (probe.error !== undefined || probe.status !== 0) {
      throw new Error(
        'this test runs the image root in user namespaces: `unshare --user --map-root-user` and ' +
          '`unshare --map-user` (util-linux >= 2.38) must work here (kernel.unprivileged_userns_clone=1, ' +
          `user.max_user_namespaces > 0; a container needs them allowed): ${probe.error?.message ?? probe.stderr}`,
      );
    }
    await buildExecutables({ log: () => undefined });
    dir = await mkdtemp('/tmp/spike-image-');
    chmodSync(dir, 0o755);
    rootfs = join(dir, 'rootfs');
    // What the final stage COPYs: the build stage's /src is this checkout (COPY . . then
    // npm run build:exe); /out/var/lib/spike is the empty folder its RUN creates.
    const copies = final.instructions.filter((i) => i.op === 'COPY');
    for (const c of copies) {
      const m = /^--from=build(?:\s+--chown=(\d+):(\d+))?\s+(\S+)\s+(\S+)$/.exec(c.args);
      assert.ok(m !== null, `COPY ${c.args}: only COPY --from=build [--chown=uid:gid] <src> <dst>`);
      const [, uid, gid, src, dst] = m;
      const target = join(rootfs, dst!);
      mkdirSync(dirname(target), { recursive: true });
      if (src!.startsWith('/src/')) {
        const from = join(ROOT, src!.slice('/src/'.length));
        mkdirSync(target, { recursive: true });
        // One cp of the folder, as one COPY of it: hard links stay hard links.
        const cp = spawnSync('cp', ['-a', `${from.replace(/\/$/, '')}/.`, target], { encoding: 'utf8' });
        assert.equal(cp.status, 0, cp.stderr);
      } else {
        assert.equal(src, '/out/var/lib/spike', `unknown build-stage path ${String(src)}`);
        mkdirSync(target, { recursive: true, mode: 0o755 });
      }
      if (uid !== undefined && isRoot) chownSync(target, Number(uid), Number(gid));
    }
    // What the base provides to these files (emulated).
    const exe = join(rootfs, 'usr/local/bin', MULTI_CALL);
    for (const lib of sharedLibraries(exe)) {
      mkdirSync(join(rootfs, dirname(lib)), { recursive: true });
      copyFileSync(lib, join(rootfs, lib));
      // The dynamic loader must stay executable: the kernel execs it for every program.
      chmodSync(join(rootfs, lib), statSync(lib).mode & 0o777);
    }
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(
      join(rootfs, 'etc/passwd'),
      'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
    );
    writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n');
    writeFileSync(join(rootfs, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
    // Mounted by the container runtime in a real container.
    writeFileSync(join(rootfs, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n');
    mkdirSync(join(rootfs, 'tmp'), { mode: 0o1777 });
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    if (!isRoot) {
      // Files of this user appear as 65532's inside; make the data folder 65532's as in the image.
      chmodSync(join(rootfs, 'var/lib/spike'), 0o755);
    }
    // Commands for the stack: the components run from the image root, the issuer outside.
    wrappers = join(dir, 'bin');
    mkdirSync(wrappers);
  });

  after(async () => {
    await stack?.stop();
    if (dir !== '' && process.env['KEEP_IMAGE_TEST_DIR'] === undefined)
      await rm(dir, { recursive: true, force: true });
  });

  it('the final stage is a shell-less glibc base, runs nothing at build time, and runs as 65532', () => {
    assert.equal(stages.length, 2);
    assert.equal(stages[0]!.name, 'build');
    assert.match(final.from, /^gcr\.io\/distroless\/cc-debian12:nonroot(@sha256:[0-9a-f]{64})?$/);
    // Both stages on Debian 12: the executables are built against the glibc they will meet.
    assert.match(stages[0]!.from, /^node:24-bookworm(@sha256:[0-9a-f]{64})?$/);
    const ops = final.instructions.map((i) => i.op);
    assert.deepEqual(
      ops.filter((op) => op === 'RUN' || op === 'ADD' || op === 'SHELL'),
      [],
      'nothing runs in the final stage (there is no shell to run it)',
    );
    assert.deepEqual(
      final.instructions.filter((i) => i.op === 'USER').map((i) => i.args),
      [`${String(NONROOT)}:${String(NONROOT)}`],
    );
    const entrypoint = final.instructions.find((i) => i.op === 'ENTRYPOINT');
    assert.deepEqual(JSON.parse(entrypoint?.args ?? 'null'), [`/usr/local/bin/${MULTI_CALL}`], 'exec form');
    assert.equal(envOf(final)['NODE_ENV'], 'production', 'the dev tools refuse to run in the image');
  });

  it('the assembled file set holds the executables (hard links), their libraries and nothing to run a shell with', () => {
    const bin = join(rootfs, 'usr/local/bin');
    const { ino } = statSync(join(bin, MULTI_CALL));
    for (const c of COMPONENTS)
      assert.equal(statSync(join(bin, c.name)).ino, ino, `${c.name} is a hard link`);
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(p.slice(rootfs.length));
      }
    };
    walk(rootfs);
    for (const shell of ['/bin/sh', '/bin/bash', '/usr/bin/sh', '/bin/busybox']) {
      assert.equal(files.includes(shell), false, shell);
    }
    const executables = files.filter(
      (f) => (statSync(join(rootfs, f)).mode & 0o111) !== 0 && !f.includes('.so'),
    );
    assert.deepEqual(
      executables.sort(),
      [MULTI_CALL, ...COMPONENTS.map((c) => c.name)].map((n) => `/usr/local/bin/${n}`).sort(),
      'the only executables are ours',
    );
    for (const lib of sharedLibraries(join(bin, MULTI_CALL))) {
      assert.ok(
        BASE_LIBRARIES.some((re) => re.test(lib)),
        `${lib} is not in the base image (glibc, libgcc_s, libstdc++)`,
      );
    }
    // Every executable a deployment starts is in the image.
    const chart = ['nexus', 'keeper', 'bootstrap'].map((c) =>
      readFileSync(join(ROOT, 'deploy/helm/spike/templates', `${c}.yaml`), 'utf8'),
    );
    const units = readdirSync(join(ROOT, 'deploy/systemd'))
      .filter((f) => f.endsWith('.service'))
      .map((f) => readFileSync(join(ROOT, 'deploy/systemd', f), 'utf8'));
    const started = [
      ...chart.flatMap((t) => [...t.matchAll(/command: \[([^\]]+)\]/g)].map((m) => m[1]!.trim())),
      ...units.flatMap((t) => [...t.matchAll(/^ExecStart=(\S+)/gm)].map((m) => m[1]!)),
    ];
    assert.equal(started.length, 6);
    for (const path of started) assert.ok(files.includes(path), `${path} is in the image`);
  });

  it('every command runs from the image root as 65532, read-only, with no shell; the dev tools refuse', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    for (const name of ['spike', 'spike-nexus', 'spike-keeper', 'spike-bootstrap']) {
      const [cmd, args] = imageCommand([], [`/usr/local/bin/${name}`, '--version']);
      const r = spawnSync(cmd, args, { env: imageEnv(), encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), `${name} ${version}`);
      assert.equal(r.stderr, '', `${name} prints no warning`);
    }
    const [cmd, args] = imageCommand([], [`/usr/local/bin/${MULTI_CALL}`, 'nexus', '--version']);
    const multi = spawnSync(cmd, args, { env: imageEnv(), encoding: 'utf8', timeout: 60_000 });
    assert.equal(multi.stdout.trim(), `spike-nexus ${version}`);
    // The image's NODE_ENV=production: the development tools refuse (exit 2).
    for (const name of ['spike-dev-identity', 'spike-dev']) {
      const [c, a] = imageCommand([], [`/usr/local/bin/${name}`]);
      const r = spawnSync(c, a, { env: imageEnv(), encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 2, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /NODE_ENV=production/);
    }
    // The sandbox itself: no shell, and no writing outside /tmp.
    const [c2, a2] = imageCommand([], ['/bin/sh', '-c', 'true']);
    const sh = spawnSync(c2, a2, { env: imageEnv(), encoding: 'utf8' });
    assert.notEqual(sh.status, 0, 'no /bin/sh in the image');
    assert.match(sh.stderr, /No such file or directory/);
  });

  it('runs keepers, Nexus on SQLite (two API threads) and bootstrap from the image root; the CLI stores and reads a secret', async () => {
    const stackDir = join(dir, 'stack');
    const socketDir = join(dir, 's');
    mkdirSync(stackDir, { mode: 0o700 });
    const dataDir = join(dir, 'nexus-volume');
    mkdirSync(dataDir, { mode: 0o700 });
    // Each component through the image root; the identity issuer (SPIRE's part) outside it.
    // Nexus's data directory is a volume at /var/lib/spike, as in the chart.
    const binds: Array<string | [string, string]> = [stackDir, socketDir, [dataDir, '/var/lib/spike']];
    for (const name of ['spike', 'spike-nexus', 'spike-keeper', 'spike-bootstrap']) {
      const [cmd, args] = imageCommand(binds, [`/usr/local/bin/${name}`]);
      // The image's ENV, unless the deployment sets the variable (as a pod's env does).
      const env = Object.entries(envOf(final))
        .map(([k, v]) => `${k}="\${${k}-${v}}"`)
        .join(' ');
      const quoted = [cmd, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
      writeFileSync(
        join(wrappers, name),
        `#!/bin/sh\nexec env -u NODE_EXTRA_CA_CERTS -u NODE_OPTIONS ${env} ${quoted} "$@"\n`,
      );
      chmodSync(join(wrappers, name), 0o755);
    }
    writeFileSync(
      join(wrappers, 'spike-dev-identity'),
      `#!/bin/sh\nexec '${join(EXE_DIR, 'spike-dev-identity')}' "$@"\n`,
    );
    chmodSync(join(wrappers, 'spike-dev-identity'), 0o755);

    stack = await Stack.withFreePorts({
      dir: stackDir,
      socketDir,
      backend: 'sqlite',
      keepers: 2,
      threshold: 2,
      executables: true,
      env: { PATH: `${wrappers}:/usr/bin:/bin`, HOME: stackDir },
      // Two API threads: the worker's code comes out of the executable, not from the (read-only) disk.
      nexusEnv: { SPIKE_NEXUS_DATA_DIR: '/var/lib/spike', SPIKE_NEXUS_API_THREADS: '2' },
    });
    await stack.startIssuer();
    await stack.startKeepers();
    await stack.startNexus();
    const boot = await stack.runBootstrap();
    assert.equal(boot.code, 0, `${boot.stdout}${boot.stderr}`);
    assert.ok(await stack.waitNexusReady(60_000), `Nexus not ready:\n${stack.readLog('nexus')}`);

    const put = await stack.runSpike('pilot', ['secret', 'put', 'image/db', 'user=admin', 'pass=s3cr3t']);
    assert.equal(put.code, 0, put.stderr);
    const get = await stack.runSpike('pilot', ['secret', 'get', 'image/db', '--format', 'json']);
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(JSON.parse(get.stdout), { user: 'admin', pass: 's3cr3t' });
    assert.ok(existsSync(join(dataDir, 'data', 'spike.db')), 'the database is on the data volume');
    assert.match(stack.readLog('nexus'), /root key installed in API thread/, 'the API worker thread runs');

    // The running Nexus: started from the image root, as 65532 with no capabilities, root read-only.
    const nexusPid = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .find((p) => {
        try {
          return (
            readlinkSync(`/proc/${p}/root`) === rootfs &&
            readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('/usr/local/bin/spike-nexus')
          );
        } catch {
          return false;
        }
      });
    assert.ok(nexusPid !== undefined, 'a spike-nexus process runs with the image as its root');
    const uidMap = readFileSync(`/proc/${nexusPid}/uid_map`, 'utf8').trim().split(/\s+/);
    assert.equal(uidMap[0], String(NONROOT), 'its uid is 65532 in its namespace');
    const status = readFileSync(`/proc/${nexusPid}/status`, 'utf8');
    assert.match(status, /^CapEff:\s+0+$/m, 'no effective capabilities');
    assert.match(status, /^NoNewPrivs:\s+1$/m, 'no privilege escalation');
    const mounts = readFileSync(`/proc/${nexusPid}/mountinfo`, 'utf8').split('\n');
    const rootMount = mounts.find((l) => l.split(' ')[4] === '/');
    assert.ok(
      rootMount !== undefined && /\bro\b/.test(rootMount.split(' ')[5]!),
      `root mounted read-only: ${String(rootMount)}`,
    );
  });
});
