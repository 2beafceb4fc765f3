/**
 * The `spike-dev-identity` executable as a child process: flags, help, refusal in production and
 * a served Workload API socket.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createX509Source } from '@spike-ts/identity';

const BIN = path.join(
  import.meta.dirname,
  '..',
  '..',
  'packages',
  'dev-identity',
  'bin',
  'spike-dev-identity.js',
);

function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const n of names) delete env[n];
  return env;
}

describe('spike-dev-identity bin', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('is an executable node script', () => {
    const st = fs.statSync(BIN);
    assert.ok((st.mode & 0o111) !== 0, 'executable bit set');
    assert.ok(fs.readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n'));
  });

  it('refuses to run with NODE_ENV=production', () => {
    const tmp = fs.mkdtempSync('/tmp/spx-');
    dirs.push(tmp);
    const r = spawnSync(process.execPath, [BIN, '--state-dir', tmp], {
      env: { ...process.env, NODE_ENV: 'production' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /DEVELOPMENT-ONLY/);
    assert.match(r.stderr, /NODE_ENV=production/);
    assert.deepEqual(fs.readdirSync(tmp), [], 'nothing was created');
  });

  it('prints help, and rejects unknown flags and bad values with a hint', () => {
    const help = spawnSync(process.execPath, [BIN, '--help'], {
      env: envWithout('NODE_ENV'),
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(help.status, 0);
    for (const flag of [
      '--trust-domain',
      '--state-dir',
      '--socket-dir',
      '--svid-ttl',
      '--jwt-ttl',
      '--identity',
      '--config',
      'DEVELOPMENT-ONLY',
      '107 bytes',
    ]) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    const unknown = spawnSync(process.execPath, [BIN, '--bogus'], {
      env: envWithout('NODE_ENV'),
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /--bogus/);
    assert.match(unknown.stderr, /--help/);
    const ttl = spawnSync(process.execPath, [BIN, '--svid-ttl', 'forever'], {
      env: envWithout('NODE_ENV'),
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(ttl.status, 1);
    assert.match(ttl.stderr, /--svid-ttl: invalid duration/);
  });

  it('fails clearly when the socket path is too long', () => {
    const tmp = fs.mkdtempSync('/tmp/spx-');
    dirs.push(tmp);
    const r = spawnSync(
      process.execPath,
      [BIN, '--state-dir', tmp, '--socket-dir', path.join(tmp, 'x'.repeat(110))],
      {
        env: envWithout('NODE_ENV'),
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /limited to 107 bytes/);
  });

  it('serves identities, prints the export lines, and exits 0 on SIGTERM', async () => {
    const tmp = fs.mkdtempSync('/tmp/spx-');
    dirs.push(tmp);
    const child = spawn(
      process.execPath,
      [
        BIN,
        '--state-dir',
        path.join(tmp, 'st'),
        '--socket-dir',
        path.join(tmp, 's'),
        '--identity',
        'app=spiffe://spike.ist/app',
        '--identity',
        'nexus=spiffe://spike.ist/spike/nexus',
      ],
      { env: envWithout('NODE_ENV'), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(child);
    let stderr = '';
    child.stderr.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready: ${stderr}`)), 30_000);
      child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
        if (stderr.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`exited early (${code}): ${stderr}`)));
    });
    assert.match(stderr, /DEVELOPMENT ONLY/);
    const appSocket = path.join(tmp, 's', 'app.sock');
    assert.ok(stderr.includes(`export SPIFFE_ENDPOINT_SOCKET=unix://${appSocket}`), stderr);
    assert.ok(stderr.includes('spiffe://spike.ist/app'));
    assert.equal(
      fs.existsSync(path.join(tmp, 's', 'keeper.sock')),
      false,
      'explicit identities replace the defaults',
    );

    const source = await createX509Source({ endpoint: `unix://${appSocket}`, timeoutMs: 10_000 });
    try {
      assert.equal(source.getX509Svid().spiffeId, 'spiffe://spike.ist/app');
    } finally {
      await source.close();
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(fs.existsSync(appSocket), false, 'sockets removed on shutdown');
  });
});
