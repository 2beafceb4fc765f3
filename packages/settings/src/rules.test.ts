import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  auditSinkRule,
  boolRule,
  choiceRule,
  durationRule,
  exactTrueRule,
  httpsUrlListRule,
  nexusUrlListRule,
  httpsUrlRule,
  intRule,
  listenOrOffRule,
  listenRule,
  RuleBroken,
  trustDomainListRule,
  type Rule,
} from './rules.ts';

function refuses<T>(rule: Rule<T>, values: readonly string[], reason?: RegExp): void {
  for (const v of values) {
    assert.throws(
      () => rule.parse(v),
      (err: unknown) => err instanceof RuleBroken && (reason === undefined || reason.test(err.message)),
      JSON.stringify(v),
    );
  }
}

describe('rules', () => {
  it('int: whole numbers in range only', () => {
    const r = intRule(1, 16);
    assert.equal(r.parse('1'), 1);
    assert.equal(r.parse('16'), 16);
    refuses(r, ['0', '17', '1.5', '-2', 'two', '1e1', '0x10', '9999999999999999'], /from 1 to 16/);
  });

  it('duration: Go syntax within bounds, in whole milliseconds', () => {
    const r = durationRule(100, 600_000);
    assert.equal(r.parse('100ms'), 100);
    assert.equal(r.parse('1m30s'), 90_000);
    assert.equal(r.parse('10m'), 600_000);
    refuses(r, ['99ms', '0s', '-5s', '11m'], /^must be a duration from 100ms to 10m$/);
    refuses(r, ['10', 'ten', '5 s', '1d'], /^invalid duration: /);
    assert.equal(durationRule(1, 86_400_000).text, 'must be a positive duration up to 24h');
    assert.equal(durationRule(0, 86_400_000).parse('0'), 0);
  });

  it('bool: true or false, any case', () => {
    assert.equal(boolRule.parse('TRUE'), true);
    assert.equal(boolRule.parse('false'), false);
    refuses(boolRule, ['yes', '1', 'on']);
  });

  it('exact true: only the exact word turns it on (SPIKE)', () => {
    assert.equal(exactTrueRule.parse('true'), true);
    for (const v of ['TRUE', 'True', '1', 'yes', 'false']) assert.equal(exactTrueRule.parse(v), false);
  });

  it('choice: case-insensitive, spelled as listed', () => {
    const r = choiceRule(['WAL', 'DELETE'] as const);
    assert.equal(r.parse('wal'), 'WAL');
    refuses(r, ['OFF', 'memory'], /^must be one of WAL, DELETE$/);
  });

  it('listen address: :port, port, host:port, [ipv6]:port', () => {
    assert.deepEqual(listenRule.parse(':8553'), { host: undefined, port: 8553 });
    assert.deepEqual(listenRule.parse('0'), { host: undefined, port: 0 });
    assert.deepEqual(listenRule.parse('localhost:1'), { host: 'localhost', port: 1 });
    assert.deepEqual(listenRule.parse('[::1]:9000'), { host: '::1', port: 9000 });
    refuses(listenRule, ['8553x', ':99999', 'host:', 'a b:1', '[::1]', '::1:80', 'https://x:1', ':000000']);
    assert.equal(listenOrOffRule.parse('OFF'), null);
    assert.deepEqual(listenOrOffRule.parse('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    refuses(listenOrOffRule, ['nope']);
  });

  it('https URL: host, no credentials, query or fragment', () => {
    assert.equal(httpsUrlRule.parse('https://nexus:8553'), 'https://nexus:8553');
    refuses(httpsUrlRule, [
      'http://nexus:1',
      'nexus:1',
      'https://u:p@nexus',
      'https://n/?a=1',
      'https://n/#x',
    ]);
  });

  it('https URL list: ordered, no empties, no duplicates, no credentials', () => {
    assert.deepEqual(httpsUrlListRule.parse('https://a:1, https://b:2'), ['https://a:1', 'https://b:2']);
    refuses(httpsUrlListRule, ['https://a:1,,https://b:2'], /entry 2 is empty/);
    refuses(httpsUrlListRule, ['https://a:1,https://a:1/'], /entry 2 is a duplicate/);
    refuses(httpsUrlListRule, ['http://a:1', 'not a url', 'https://user:hunter2@a:1'], /entry 1 must be/);
  });

  it('Nexus URL list: one URL as today, or several in order; empties, duplicates and bad entries refused', () => {
    assert.deepEqual(nexusUrlListRule.parse('https://nexus:8553'), ['https://nexus:8553']);
    assert.deepEqual(nexusUrlListRule.parse('https://a:1, https://b:2/api'), [
      'https://a:1',
      'https://b:2/api',
    ]);
    refuses(nexusUrlListRule, ['https://a:1,,https://b:2', 'https://a:1,'], /entry 2 is empty/);
    refuses(nexusUrlListRule, [',https://a:1'], /entry 1 is empty/);
    refuses(nexusUrlListRule, ['https://a:1,https://b:1,https://a:1/'], /entry 3 is a duplicate of entry 1/);
    refuses(
      nexusUrlListRule,
      ['https://a:1,http://b:1', 'https://a:1,b:1'],
      /entry 2 must be an https:\/\/ URL/,
    );
    refuses(
      nexusUrlListRule,
      ['https://a:1,https://b:1/?x=1', 'https://a:1,https://b:1/#f'],
      /entry 2 .*query/,
    );
    refuses(nexusUrlListRule, ['https://u:hunter2@a:1,https://b:1'], /entry 1 .*no credentials/);
    refuses(nexusUrlListRule, ['http://a:1', 'https://a:1/?q'], /the value must be/);
  });

  it('trust domain list: names or spiffe:// IDs without path, deduplicated', () => {
    assert.deepEqual(trustDomainListRule.parse(' a.test , spiffe://b.test,a.test'), ['a.test', 'b.test']);
    refuses(trustDomainListRule, ['a,,b', 'a,'], /empty item/);
    refuses(
      trustDomainListRule,
      ['Spike.ist', 'spike.ist/x', 'spiffe://spike.ist/spike', 'SPIFFE://x', 'x'.repeat(256)],
      /invalid trust domain in item 1/,
    );
  });

  it('audit sink: keyword or absolute path', () => {
    assert.deepEqual(auditSinkRule.parse('STDOUT'), { kind: 'stdout' });
    assert.deepEqual(auditSinkRule.parse('/var/log/a.jsonl'), { kind: 'file', path: '/var/log/a.jsonl' });
    refuses(auditSinkRule, ['stdrr', 'audit.jsonl']);
  });
});
