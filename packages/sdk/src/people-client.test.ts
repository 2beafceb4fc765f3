import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPeopleClient, resolvePeopleUrl } from './people-client.ts';

describe('people client', () => {
  it('takes only an https:// URL with a host and nothing else', () => {
    assert.equal(resolvePeopleUrl(' https://nexus.example:8443/ '), 'https://nexus.example:8443');
    assert.throws(() => resolvePeopleUrl(undefined), /SPIKE_PEOPLE_URL/);
    assert.throws(() => resolvePeopleUrl('http://nexus.example'), /tokens never travel in clear/);
    assert.throws(() => resolvePeopleUrl('https://u:p@nexus.example'), /credentials/);
    assert.throws(() => resolvePeopleUrl('::'), /not a valid URL/);
  });

  it('refuses an unreadable CA file and a bad timeout', () => {
    const accessToken = (): Promise<string> => Promise.resolve('t');
    assert.throws(
      () =>
        createPeopleClient({ peopleUrl: 'https://n.example', accessToken, caFile: '/nonexistent/ca.pem' }),
      /Cannot read the people listener's CA file/,
    );
    assert.throws(
      () => createPeopleClient({ peopleUrl: 'https://n.example', accessToken, timeoutMs: 0 }),
      /timeoutMs/,
    );
  });

  it('never sends a malformed token', async () => {
    const client = createPeopleClient({
      peopleUrl: 'https://127.0.0.1:1',
      accessToken: () => Promise.resolve('bad token\r\nx: y'),
    });
    await assert.rejects(client.whoami(), /access token is malformed/);
    await client.close();
  });
});
