/**
 * The real `spike` binary (a child process) against the real Nexus (in-process, memory backend)
 * over mTLS: secret values from stdin and files, `spike run` and `spike export`, the undelete
 * message, usage errors (exit 2) and `--version`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { createX509Source } from '@spike-ts/identity';
import type { X509Source } from '@spike-ts/identity';
import type { Nexus } from '@spike-ts/nexus';
import { ok, SPIKE_BIN, runSpike, startIdentityLab, startNexus } from './cli-harness.ts';
import type { IdentityLab } from './cli-harness.ts';

/** Values that need quoting in every format. */
const TRICKY: Record<string, string> = {
  PLAIN: 'abc',
  EMPTY: '',
  SPACES: '  two  spaces ',
  DOLLAR: '$HOME and ${PATH} and `id` and $(id)',
  QUOTES: `it's "quoted"`,
  BACKSLASH: 'a\\b\\\\c\\n\\',
  NEWLINES: 'line1\nline2\r\nline3\n',
  HASH: 'value # not a comment',
  UNICODE: 'päss wörd ✓',
  YAMLISH: '- [a]: {b} &c *d !e |f >g %h @i',
  NUMBER: '0123',
  BOOL: 'true',
};

describe('spike: value sources, run, export', () => {
  let lab: IdentityLab;
  let source: X509Source;
  let nexus: Nexus;
  let url: string;
  const spike = (args: string[], input?: string | Buffer, extra: Record<string, string> = {}) =>
    runSpike(args, { env: lab.env('pilot', url, extra), ...(input === undefined ? {} : { input }) });

  before(async () => {
    lab = await startIdentityLab();
    source = await createX509Source({
      endpoint: lab.issuer.endpointFor('nexus'),
      env: {},
      timeoutMs: 10_000,
    });
    ({ nexus, url } = await startNexus(lab, source, { SPIKE_NEXUS_BACKEND_STORE: 'memory' }));
  });
  after(async () => {
    await nexus?.close();
    await source?.close();
    await lab?.close();
  });

  it('--version and -v print the version; a missing required option exits 2', async () => {
    for (const flag of ['--version', '-v']) {
      const run = ok(await spike([flag]));
      assert.match(run.stdout, /^spike \d+\.\d+\.\d+\n$/);
    }
    const missing = await spike(['policy', 'create', '--name', 'x']);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(
      missing.stderr,
      /Missing required option\(s\): --spiffeid-pattern, --path-pattern, --permissions/,
    );
    // Even with no identity at all: the usage error comes first.
    const noSocket = await runSpike(['policy', 'create', '--name', 'x'], {
      env: lab.env('pilot', url, { SPIFFE_ENDPOINT_SOCKET: `unix://${lab.dir}/none.sock` }),
    });
    assert.equal(noSocket.code, 2, noSocket.stderr);
    assert.equal((await spike(['policy', 'get'])).code, 2);
    assert.equal((await spike(['policy', 'apply', '--file', 'x.yaml', '--name', 'x'])).code, 2);
    assert.equal((await spike(['run', '--', 'true'])).code, 2);
    assert.equal((await spike(['export'])).code, 2);
  });

  it('put reads key=- from stdin (one trailing newline dropped) and key=@file byte for byte', async () => {
    const file = join(lab.dir, 'cert.pem');
    await writeFile(file, '-----BEGIN X-----\nabc\n-----END X-----\n');
    ok(await spike(['secret', 'put', 'vs/a', 'password=-', 'cert=@' + file, 'user=admin'], 'hunter2\n'));
    const got = JSON.parse(ok(await spike(['secret', 'get', 'vs/a', '-f', 'json'])).stdout) as Record<
      string,
      string
    >;
    assert.deepEqual(got, {
      cert: '-----BEGIN X-----\nabc\n-----END X-----\n',
      password: 'hunter2',
      user: 'admin',
    });
    // Only one trailing newline goes; CRLF counts as one.
    ok(await spike(['secret', 'put', 'vs/b', 'v=-'], 'two\n\n'));
    assert.equal(ok(await spike(['secret', 'get', 'vs/b', 'v', '-f', 'json'])).stdout, '"two\\n"\n');
    ok(await spike(['secret', 'put', 'vs/b', 'v=-'], 'crlf\r\n'));
    assert.equal(ok(await spike(['secret', 'get', 'vs/b', 'v', '-f', 'json'])).stdout, '"crlf"\n');
  });

  it('key==text is literal, so -, @ and = can still start a value', async () => {
    ok(await spike(['secret', 'put', 'vs/lit', 'dash==-', 'at==@home', 'eq===x', 'plain=a=b', 'empty=']));
    const got = JSON.parse(ok(await spike(['secret', 'get', 'vs/lit', '-f', 'json'])).stdout) as Record<
      string,
      string
    >;
    assert.deepEqual(got, { at: '@home', dash: '-', empty: '', eq: '=x', plain: 'a=b' });
  });

  it('value sources: two stdin values, missing, oversized, non-UTF-8 and empty @ are refused before sending', async () => {
    const two = await spike(['secret', 'put', 'vs/x', 'a=-', 'b=-'], 'x');
    assert.equal(two.code, 2);
    assert.match(
      two.stderr,
      /Only one value can be read from standard input \('-'\), but keys 'a', 'b' ask for it/,
    );
    const missing = await spike(['secret', 'put', 'vs/x', `a=@${lab.dir}/nope.txt`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot read the file of key 'a' '.*nope\.txt': no such file\./);
    const big = join(lab.dir, 'big.bin');
    await writeFile(big, Buffer.alloc(1024 * 1024 + 1, 0x61));
    const tooBig = await spike(['secret', 'put', 'vs/x', `a=@${big}`]);
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.stderr, /larger than 1048576 bytes/);
    const bigStdin = await spike(['secret', 'put', 'vs/x', 'a=-'], Buffer.alloc(1024 * 1024 + 2, 0x61));
    assert.equal(bigStdin.code, 1);
    assert.match(bigStdin.stderr, /larger than 1048576 bytes/);
    const binary = join(lab.dir, 'bin.dat');
    await writeFile(binary, Buffer.from([0xff, 0xfe, 0x00]));
    const notText = await spike(['secret', 'put', 'vs/x', `a=@${binary}`]);
    assert.equal(notText.code, 1);
    assert.match(notText.stderr, /is not UTF-8 text/);
    const emptyAt = await spike(['secret', 'put', 'vs/x', 'a=@']);
    assert.equal(emptyAt.code, 1);
    assert.match(emptyAt.stderr, /'@' must be followed by a file name/);
    const dir = await spike(['secret', 'put', 'vs/x', `a=@${lab.dir}`]);
    assert.equal(dir.code, 1);
    assert.match(dir.stderr, /is not a regular file/);
    assert.equal((await spike(['secret', 'get', 'vs/x'])).code, 3, 'nothing was stored');
  });

  it('undelete names the version it tried and suggests -v', async () => {
    ok(await spike(['secret', 'put', 'vs/u', 'k=1']));
    ok(await spike(['secret', 'put', 'vs/u', 'k=2']));
    ok(await spike(['secret', 'put', 'vs/u', 'k=3']));
    ok(await spike(['secret', 'delete', 'vs/u', '-v', '1']));
    const current = await spike(['secret', 'undelete', 'vs/u']);
    assert.equal(current.code, 3);
    assert.match(
      current.stderr,
      /Nothing to undelete in secret 'vs\/u' \(tried the current version \(3\): .*Deleted versions: 1; undelete one with -v, e\.g\. 'spike secret undelete vs\/u -v 1'/,
    );
    const named = await spike(['secret', 'undelete', 'vs/u', '-v', '2,9']);
    assert.equal(named.code, 3);
    assert.match(named.stderr, /tried version 2, version 9/);
    const absent = await spike(['secret', 'undelete', 'vs/none', '-v', '4']);
    assert.equal(absent.code, 3);
    assert.match(
      absent.stderr,
      /Secret 'vs\/none' not found, or it has no deleted version to undelete \(tried version 4\)/,
    );
    ok(await spike(['secret', 'undelete', 'vs/u', '-v', '1']));
  });

  it('export prints dotenv that POSIX sh and dotenv parsers read back exactly, and JSON and YAML', async () => {
    ok(await spike(['secret', 'put', 'env/tricky', ...Object.entries(TRICKY).map(([k, v]) => `${k}==${v}`)]));
    const dotenv = ok(await spike(['export', '--path', 'env/tricky'])).stdout;
    const file = join(lab.dir, 'tricky.env');
    await writeFile(file, dotenv);
    const names = Object.keys(TRICKY);
    const script = `set -a; . "$1"; set +a; for n in ${names.join(' ')}; do printf '%s\\0' "$(eval "printf '%s' \\"\\$$n\\""; printf x)"; done`;
    const fromSh = execFileSync('sh', ['-c', script, 'sh', file], { env: {} })
      .toString('utf8')
      .split('\0')
      .slice(0, -1)
      .map((v) => v.slice(0, -1));
    assert.deepEqual(Object.fromEntries(names.map((n, i) => [n, fromSh[i]])), TRICKY);
    // Values without a single quote are single-quoted: literal for dotenv parsers too.
    const simple = Object.fromEntries(
      Object.entries(TRICKY).filter(([, v]) => !v.includes("'") && !v.includes('\r')),
    );
    const parsed = parseEnv(dotenv);
    for (const [k, v] of Object.entries(simple)) assert.equal(parsed[k], v, k);
    assert.deepEqual(
      JSON.parse(ok(await spike(['export', '--path', 'env/tricky', '-f', 'json'])).stdout),
      TRICKY,
    );
    assert.deepEqual(
      parseYaml(ok(await spike(['export', '--path', 'env/tricky', '--format', 'yaml'])).stdout),
      TRICKY,
    );
    const badFormat = await spike(['export', '--path', 'env/tricky', '-f', 'toml']);
    assert.equal(badFormat.code, 1);
    assert.match(badFormat.stderr, /use dotenv, json or yaml/);
  });

  it('run: values only in the child environment, later --path wins, names checked, exit status passed on', async () => {
    ok(await spike(['secret', 'put', 'env/one', 'DB_USER=one', 'DB_PASS=pass one', 'ONLY_ONE=1']));
    ok(await spike(['secret', 'put', 'env/two', 'DB_PASS=pass-two', 'ONLY_TWO=2']));
    const probe =
      'process.stdout.write(JSON.stringify({argv: process.argv, env: {' +
      'DB_USER: process.env.DB_USER, DB_PASS: process.env.DB_PASS, ONLY_ONE: process.env.ONLY_ONE, ' +
      'ONLY_TWO: process.env.ONLY_TWO, KEEP: process.env.KEEP}}))';
    const run = ok(
      await spike(
        ['run', '--path', 'env/one', '-p', 'env/two', '--', process.execPath, '-e', probe],
        undefined,
        {
          KEEP: 'inherited',
          DB_USER: 'replaced',
        },
      ),
    );
    const seen = JSON.parse(run.stdout) as { argv: string[]; env: Record<string, string> };
    assert.deepEqual(seen.env, {
      DB_USER: 'one',
      DB_PASS: 'pass-two',
      ONLY_ONE: '1',
      ONLY_TWO: '2',
      KEEP: 'inherited',
    });
    assert.ok(!seen.argv.some((a) => a.includes('pass')), 'no value on the child argv');
    const code = await spike(['run', '-p', 'env/one', '--', process.execPath, '-e', 'process.exit(42)']);
    assert.equal(code.code, 42);
    const killed = await spike([
      'run',
      '-p',
      'env/one',
      '--',
      process.execPath,
      '-e',
      "process.kill(process.pid, 'SIGTERM')",
    ]);
    assert.equal(killed.code, 128 + 15);
    const notFound = await spike(['run', '-p', 'env/one', '--', 'spike-no-such-command-here']);
    assert.equal(notFound.code, 127);
    assert.match(notFound.stderr, /Cannot run 'spike-no-such-command-here': command not found/);
    const noExec = join(lab.dir, 'not-executable.sh');
    await writeFile(noExec, '#!/bin/sh\necho hi\n');
    await chmod(noExec, 0o644);
    assert.equal((await spike(['run', '-p', 'env/one', '--', noExec])).code, 126);
    ok(await spike(['secret', 'put', 'env/bad', 'good=1', 'db-pass=x', '9lives=y', 'with space=z']));
    const bad = await spike(['run', '-p', 'env/bad', '--', process.execPath, '-e', 'process.exit(0)']);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /not valid environment variable names: '9lives' \(in env\/bad\), 'db-pass' \(in env\/bad\), 'with space' \(in env\/bad\)\./,
    );
    assert.equal((await spike(['export', '-p', 'env/bad'])).code, 1);
    const missing = await spike(['run', '-p', 'env/nothing', '--', process.execPath, '-e', '0']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /Secret 'env\/nothing' \(--path\) not found\./);
  });

  it('run forwards SIGTERM to the child and exits with its status', async () => {
    const script =
      "process.on('SIGTERM', () => { process.stdout.write('got SIGTERM\\n'); process.exit(3); });" +
      "process.stdout.write('ready\\n'); setInterval(() => {}, 1000);";
    const child = spawn(
      process.execPath,
      [SPIKE_BIN, 'run', '-p', 'env/one', '--', process.execPath, '-e', script],
      {
        env: lab.env('pilot', url),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('ready\n')) resolve();
      });
      child.once('close', () => reject(new Error(`spike run ended before the child was ready: ${err}`)));
    });
    child.kill('SIGTERM');
    assert.equal(await exited, 3);
    assert.match(out, /got SIGTERM/);
  });
});
