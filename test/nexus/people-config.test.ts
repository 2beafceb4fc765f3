/** The people listener's settings: all of them together, files that must read and parse. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueSvid } from '@spike-ts/identity/mint';
import { ConfigError, loadConfig, type Env } from '@spike-ts/nexus';

describe('people listener settings', () => {
  let dir: string;
  let env: Env;
  const load = (over: Env): ReturnType<typeof loadConfig> =>
    loadConfig({ SPIKE_NEXUS_BACKEND_STORE: 'memory', ...env, ...over }, { homeDir: dir });
  const refuses = (over: Env, variable: string, message: RegExp): void => {
    assert.throws(
      () => load(over),
      (err: unknown) =>
        err instanceof ConfigError && err.message.includes(variable) && message.test(err.message),
      variable,
    );
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spx-people-config-'));
    const ca = await createCa({ trustDomain: 'spike.ist' });
    const leaf = await issueSvid(ca, { spiffeId: 'spiffe://spike.ist/people', dnsNames: ['nexus.example'] });
    const other = await issueSvid(ca, { spiffeId: 'spiffe://spike.ist/other' });
    await writeFile(join(dir, 'cert.pem'), leaf.certPem);
    await writeFile(join(dir, 'key.pem'), leaf.keyPem);
    await writeFile(join(dir, 'other-key.pem'), other.keyPem);
    await writeFile(
      join(dir, 'oidc.json'),
      JSON.stringify({ issuers: [{ issuer: 'https://idp.example', audience: 'a' }] }),
    );
    await writeFile(
      join(dir, 'bad-oidc.json'),
      JSON.stringify({ issuers: [{ issuer: 'https://idp.example', audience: 'a', algorithms: ['HS256'] }] }),
    );
    env = {
      SPIKE_NEXUS_PEOPLE_LISTEN: '127.0.0.1:8555',
      SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE: join(dir, 'cert.pem'),
      SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE: join(dir, 'key.pem'),
      SPIKE_NEXUS_OIDC_CONFIG: join(dir, 'oidc.json'),
    };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is off by default', () => {
    assert.equal(loadConfig({ SPIKE_NEXUS_BACKEND_STORE: 'memory' }, { homeDir: dir }).people, null);
  });

  it('reads the certificate, key and OIDC file when the listener is on', () => {
    const people = load({}).people;
    assert.deepEqual(people?.listen, { host: '127.0.0.1', port: 8555 });
    assert.equal(people?.oidc.issuers[0]?.issuer, 'https://idp.example');
    assert.match(people?.certPem ?? '', /BEGIN CERTIFICATE/);
  });

  it('refuses incomplete, contradictory or broken settings, naming the variable', () => {
    refuses(
      { SPIKE_NEXUS_OIDC_CONFIG: undefined },
      'SPIKE_NEXUS_OIDC_CONFIG',
      /required with SPIKE_NEXUS_PEOPLE_LISTEN/,
    );
    refuses({ SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE: undefined }, 'SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE', /required/);
    refuses(
      { SPIKE_NEXUS_PEOPLE_LISTEN: undefined },
      'SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE',
      /only used with SPIKE_NEXUS_PEOPLE_LISTEN/,
    );
    refuses({ SPIKE_NEXUS_PEOPLE_LISTEN: 'nowhere' }, 'SPIKE_NEXUS_PEOPLE_LISTEN', /./);
    refuses(
      { SPIKE_NEXUS_OIDC_CONFIG: join(dir, 'missing.json') },
      'SPIKE_NEXUS_OIDC_CONFIG',
      /readable file/,
    );
    refuses(
      { SPIKE_NEXUS_OIDC_CONFIG: join(dir, 'bad-oidc.json') },
      'SPIKE_NEXUS_OIDC_CONFIG',
      /"HS256" is not allowed/,
    );
    refuses(
      { SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE: join(dir, 'oidc.json') },
      'SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE',
      /PEM/,
    );
    refuses(
      { SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE: join(dir, 'other-key.pem') },
      'SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE',
      /private key of the certificate/,
    );
  });
});
