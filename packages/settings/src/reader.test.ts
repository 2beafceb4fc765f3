import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_KEEPER_PORT, DEFAULT_NEXUS_API_URL } from '@spike-ts/protocol';
import { checkSettingValue, readSetting, SettingsError, SettingsReader } from './reader.ts';
import {
  SETTINGS,
  SPIKE_KEEPER_TLS_PORT,
  SPIKE_NEXUS_API_THREADS,
  SPIKE_NEXUS_API_URL,
  SPIKE_NEXUS_KEEPER_PEERS,
  SPIKE_NEXUS_SHAMIR_SHARES,
  SPIKE_NEXUS_SHAMIR_THRESHOLD,
  SPIKE_NEXUS_TLS_PORT,
  SPIKE_SYSTEM_LOG_LEVEL,
  type Setting,
} from './table.ts';

describe('settings table', () => {
  it('has unique names, a doc line, readers, and defaults that pass their own rule', () => {
    const names = new Set<string>();
    for (const s of SETTINGS) {
      assert.match(s.name, /^(SPIKE|SPIFFE)_[A-Z0-9_]+$/);
      assert.ok(!names.has(s.name), `duplicate ${s.name}`);
      names.add(s.name);
      assert.ok(s.doc.length > 0 && !s.doc.includes('\n'), s.name);
      assert.ok(s.readers.length > 0, s.name);
      if (s.default !== undefined) assert.doesNotThrow(() => s.rule.parse(s.default ?? ''), s.name);
      else assert.ok(s.defaultDoc !== undefined || s.name === SPIKE_NEXUS_KEEPER_PEERS.name, s.name);
    }
  });

  it("keeps SPIKE's default ports and Nexus URL", () => {
    assert.equal(readSetting({}, SPIKE_KEEPER_TLS_PORT).port, DEFAULT_KEEPER_PORT);
    assert.equal(readSetting({}, SPIKE_NEXUS_TLS_PORT).port, 8553);
    assert.deepEqual(readSetting({}, SPIKE_NEXUS_API_URL), [DEFAULT_NEXUS_API_URL]);
  });

  it('reads several Nexus URLs and refuses a bad list naming the variable, never the value', () => {
    const env = { SPIKE_NEXUS_API_URL: 'https://n1:8553, https://n2:8553' };
    assert.deepEqual(readSetting(env, SPIKE_NEXUS_API_URL), ['https://n1:8553', 'https://n2:8553']);
    for (const [value, why] of [
      ['https://n1:8553,,https://n2:8553', /^SPIKE_NEXUS_API_URL: entry 2 is empty/],
      ['https://n1:8553,https://n1:8553/', /^SPIKE_NEXUS_API_URL: entry 2 is a duplicate of entry 1/],
      ['https://n1:8553,http://n2:8553', /^SPIKE_NEXUS_API_URL: entry 2 must be an https/],
    ] as const) {
      assert.throws(
        () => readSetting({ SPIKE_NEXUS_API_URL: value }, SPIKE_NEXUS_API_URL),
        (err: unknown) =>
          err instanceof SettingsError && why.test(err.message) && !err.message.includes('n1'),
        value,
      );
    }
  });
});

describe('SettingsReader', () => {
  it('takes the default for unset or blank variables and trims values', () => {
    const r = new SettingsReader({ SPIKE_NEXUS_SHAMIR_SHARES: '  ', SPIKE_NEXUS_API_THREADS: ' 4 ' });
    assert.equal(r.get(SPIKE_NEXUS_SHAMIR_SHARES), 3);
    assert.equal(r.get(SPIKE_NEXUS_API_THREADS), 4);
    assert.equal(r.get(SPIKE_SYSTEM_LOG_LEVEL), 'warn');
    assert.equal(r.maybe(SPIKE_NEXUS_KEEPER_PEERS), undefined);
    r.done();
  });

  it('reports every invalid variable at once, naming each, never the values', () => {
    const env = {
      SPIKE_NEXUS_SHAMIR_SHARES: 'secret-three',
      SPIKE_NEXUS_API_THREADS: '99',
      SPIKE_SYSTEM_LOG_LEVEL: 'loud-secret',
      SPIKE_NEXUS_KEEPER_PEERS: 'https://u:hunter2@a:1',
      SPIKE_NEXUS_TLS_PORT: 'nope',
    };
    const r = new SettingsReader(env);
    for (const s of [
      SPIKE_NEXUS_SHAMIR_SHARES,
      SPIKE_NEXUS_API_THREADS,
      SPIKE_SYSTEM_LOG_LEVEL,
      SPIKE_NEXUS_KEEPER_PEERS,
      SPIKE_NEXUS_TLS_PORT,
    ] as Setting<unknown>[]) {
      r.maybe(s);
    }
    assert.throws(
      () => r.done(),
      (err: unknown) => {
        assert.ok(err instanceof SettingsError);
        assert.deepEqual(
          err.problems.map((p) => p.variable),
          [
            'SPIKE_NEXUS_SHAMIR_SHARES',
            'SPIKE_NEXUS_API_THREADS',
            'SPIKE_SYSTEM_LOG_LEVEL',
            'SPIKE_NEXUS_KEEPER_PEERS',
            'SPIKE_NEXUS_TLS_PORT',
          ],
        );
        assert.equal(err.variable, 'SPIKE_NEXUS_SHAMIR_SHARES');
        for (const p of err.problems) assert.ok(err.message.includes(`${p.variable}: ${p.rule}`));
        for (const secret of ['secret-three', '99', 'loud-secret', 'hunter2', 'nope']) {
          assert.ok(!err.message.includes(secret), secret);
        }
        return true;
      },
    );
  });

  it('skips a cross-variable check when a variable involved is already invalid', () => {
    const r = new SettingsReader({ SPIKE_NEXUS_SHAMIR_SHARES: 'x', SPIKE_NEXUS_SHAMIR_THRESHOLD: '5' });
    const shares = r.get(SPIKE_NEXUS_SHAMIR_SHARES);
    const threshold = r.get(SPIKE_NEXUS_SHAMIR_THRESHOLD);
    r.require(threshold <= shares, SPIKE_NEXUS_SHAMIR_THRESHOLD, 'must not be greater', [
      SPIKE_NEXUS_SHAMIR_SHARES,
    ]);
    assert.deepEqual(
      r.problems.map((p) => p.variable),
      ['SPIKE_NEXUS_SHAMIR_SHARES'],
    );
    const ok = new SettingsReader({ SPIKE_NEXUS_SHAMIR_THRESHOLD: '5' });
    ok.require(
      ok.get(SPIKE_NEXUS_SHAMIR_THRESHOLD) <= ok.get(SPIKE_NEXUS_SHAMIR_SHARES),
      SPIKE_NEXUS_SHAMIR_THRESHOLD,
      'must not be greater than SPIKE_NEXUS_SHAMIR_SHARES',
      [SPIKE_NEXUS_SHAMIR_SHARES],
    );
    assert.throws(() => ok.done(), /^SettingsError: SPIKE_NEXUS_SHAMIR_THRESHOLD: must not be greater/);
  });

  it('reads a variable once, so one bad value is one problem', () => {
    const r = new SettingsReader({ SPIKE_NEXUS_API_THREADS: '0' });
    r.get(SPIKE_NEXUS_API_THREADS);
    r.get(SPIKE_NEXUS_API_THREADS);
    r.problem(SPIKE_NEXUS_API_THREADS, 'again');
    assert.equal(r.problems.length, 1);
  });

  it('refuses get() on a setting without a default (a programming error, not a bad value)', () => {
    assert.throws(() => new SettingsReader({}).get(SPIKE_NEXUS_KEEPER_PEERS), TypeError);
  });

  it('checks a single value, blank included', () => {
    assert.deepEqual(checkSettingValue(SPIKE_NEXUS_TLS_PORT, '[::1]:0'), { host: '::1', port: 0 });
    assert.throws(
      () => checkSettingValue({ ...SPIKE_NEXUS_TLS_PORT, default: undefined }, ' '),
      SettingsError,
    );
  });
});
