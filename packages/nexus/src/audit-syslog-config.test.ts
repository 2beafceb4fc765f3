import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueSvid } from '@spike-ts/identity/mint';
import { ConfigError, loadConfig, type Env } from './config.ts';

const base: Env = { SPIKE_NEXUS_BACKEND_STORE: 'memory' };
const opts = { homeDir: '/home/alice', userName: 'alice', cwd: '/srv' };

function problemsOf(env: Env): string[] {
  try {
    loadConfig({ ...base, ...env }, opts);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems.map((p) => p.variable);
  }
  return [];
}

describe('audit shipping settings', () => {
  let dir: string;
  let ca: string;
  let cert: string;
  let key: string;
  let otherKey: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spx-syslog-config-'));
    const minted = await createCa({ trustDomain: 'syslog.test' });
    const client = await issueSvid(minted, { spiffeId: 'spiffe://syslog.test/nexus' });
    const other = await issueSvid(minted, { spiffeId: 'spiffe://syslog.test/other' });
    ca = join(dir, 'ca.pem');
    cert = join(dir, 'cert.pem');
    key = join(dir, 'key.pem');
    otherKey = join(dir, 'other-key.pem');
    await writeFile(ca, minted.certPem);
    await writeFile(cert, client.certPem);
    await writeFile(key, client.keyPem);
    await writeFile(otherKey, other.keyPem);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is off by default', () => {
    assert.equal(loadConfig(base, opts).auditSyslog, null);
  });

  it('reads a plain TCP target with its policy, queue size and facility', () => {
    const c = loadConfig(
      {
        ...base,
        SPIKE_NEXUS_AUDIT_SYSLOG: 'tcp://logs.example:6514',
        SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN: 'BUFFER',
        SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE: '50',
        SPIKE_NEXUS_AUDIT_SYSLOG_FACILITY: 'local3',
      },
      opts,
    );
    assert.deepEqual(c.auditSyslog, {
      host: 'logs.example',
      port: 6514,
      policy: 'buffer',
      queueSize: 50,
      facility: 19,
      tls: null,
    });
    const d = loadConfig({ ...base, SPIKE_NEXUS_AUDIT_SYSLOG: 'tcp://[::1]:514' }, opts).auditSyslog;
    assert.equal(d?.host, '::1');
    assert.equal(d?.policy, 'block', 'fail closed by default');
    assert.equal(d?.facility, 10, 'authpriv by default');
    assert.equal(d?.queueSize, 10_000);
  });

  it('reads the TLS files at start', () => {
    const c = loadConfig(
      {
        ...base,
        SPIKE_NEXUS_AUDIT_SYSLOG: 'tls://logs.example:6514',
        SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: ca,
        SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT: cert,
        SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY: key,
      },
      opts,
    );
    assert.match(c.auditSyslog?.tls?.caPem ?? '', /BEGIN CERTIFICATE/);
    assert.match(c.auditSyslog?.tls?.certPem ?? '', /BEGIN CERTIFICATE/);
    assert.match(c.auditSyslog?.tls?.keyPem ?? '', /PRIVATE KEY/);
  });

  it('refuses bad targets, naming the variable', () => {
    for (const bad of [
      'udp://h:514',
      'tcp://h',
      'tcp://h:0',
      'tcp://h:70000',
      'h:514',
      'tls://',
      'tcp://a b:1',
    ]) {
      assert.deepEqual(problemsOf({ SPIKE_NEXUS_AUDIT_SYSLOG: bad }), ['SPIKE_NEXUS_AUDIT_SYSLOG'], bad);
    }
    assert.deepEqual(problemsOf({ SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN: 'drop' }), [
      'SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN',
    ]);
    assert.deepEqual(problemsOf({ SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE: '0' }), [
      'SPIKE_NEXUS_AUDIT_SYSLOG_QUEUE_SIZE',
    ]);
    assert.deepEqual(problemsOf({ SPIKE_NEXUS_AUDIT_SYSLOG_FACILITY: 'local8' }), [
      'SPIKE_NEXUS_AUDIT_SYSLOG_FACILITY',
    ]);
  });

  it('needs a CA with tls://, and TLS files only with tls://', () => {
    assert.deepEqual(problemsOf({ SPIKE_NEXUS_AUDIT_SYSLOG: 'tls://h:6514' }), [
      'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA',
    ]);
    assert.deepEqual(
      problemsOf({ SPIKE_NEXUS_AUDIT_SYSLOG: 'tcp://h:514', SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: ca }),
      ['SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA'],
    );
    assert.deepEqual(problemsOf({ SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT: cert }), [
      'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT',
    ]);
  });

  it('fails at start naming the variable of a missing, unreadable or wrong TLS file', () => {
    const tls = { SPIKE_NEXUS_AUDIT_SYSLOG: 'tls://h:6514', SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: ca };
    const missing = join(dir, 'missing.pem');
    assert.deepEqual(problemsOf({ ...tls, SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: missing }), [
      'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA',
    ]);
    // A directory cannot be read as a file (root can read any file, so this stands for "unreadable").
    assert.deepEqual(problemsOf({ ...tls, SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: dir }), [
      'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA',
    ]);
    assert.deepEqual(problemsOf({ ...tls, SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: key }), [
      'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA',
    ]);
    assert.deepEqual(
      problemsOf({
        ...tls,
        SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT: cert,
        SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY: missing,
      }),
      ['SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY'],
    );
    assert.deepEqual(
      problemsOf({
        ...tls,
        SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT: missing,
        SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY: key,
      }),
      ['SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT'],
    );
    assert.deepEqual(
      problemsOf({
        ...tls,
        SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT: cert,
        SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY: otherKey,
      }),
      ['SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY'],
    );
    assert.deepEqual(problemsOf({ ...tls, SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CERT: cert }), [
      'SPIKE_NEXUS_AUDIT_SYSLOG_TLS_KEY',
    ]);
    // The message names the variable and the reason, never the path.
    try {
      loadConfig({ ...base, ...tls, SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: missing }, opts);
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(
        err.message,
        /^SPIKE_NEXUS_AUDIT_SYSLOG_TLS_CA: must be the path of a readable file \(reading it failed: ENOENT\)/,
      );
      assert.ok(!err.message.includes(missing));
    }
  });
});
