import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_WORKLOAD_ENDPOINT,
  parseWorkloadEndpoint,
  resolveWorkloadEndpoint,
  WorkloadEndpointError,
} from './endpoint.ts';

describe('parseWorkloadEndpoint', () => {
  it('accepts unix:///abs and unix:/abs', () => {
    const a = parseWorkloadEndpoint('unix:///tmp/agent.sock');
    assert.deepEqual(a, {
      kind: 'unix',
      path: '/tmp/agent.sock',
      url: 'unix:///tmp/agent.sock',
      grpcTarget: 'unix:///tmp/agent.sock',
    });
    const b = parseWorkloadEndpoint('unix:/tmp/agent.sock');
    assert.equal(b.kind, 'unix');
    assert.equal(b.url, 'unix:///tmp/agent.sock');
  });

  it('accepts tcp://IP:port for IPv4 and IPv6', () => {
    const a = parseWorkloadEndpoint('tcp://127.0.0.1:8000');
    assert.equal(a.kind, 'tcp');
    assert.equal(a.grpcTarget, 'ipv4:127.0.0.1:8000');
    const b = parseWorkloadEndpoint('tcp://[::1]:8000');
    assert.equal(b.grpcTarget, 'ipv6:[::1]:8000');
  });

  it('rejects malformed addresses with a message that shows the expected form', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /empty/],
      [' unix:///a', /spaces/],
      ['/tmp/agent.sock', /scheme/],
      ['http://127.0.0.1:1', /scheme/],
      ['unix://host/tmp/a.sock', /authority/],
      ['unix:relative.sock', /absolute/],
      ['unix:///', /absolute/],
      ['unix:///tmp/a.sock?x=1', /query/],
      ['unix:///tmp/a.sock#f', /query or fragment/],
      ['unix:///' + 'a'.repeat(120), /107 bytes/],
      ['tcp:127.0.0.1:80', /tcp:\/\//],
      ['tcp://localhost:80', /IP address/],
      ['tcp://127.0.0.1', /port/],
      ['tcp://127.0.0.1:', /port/],
      ['tcp://127.0.0.1:0', /between/],
      ['tcp://127.0.0.1:70000', /between/],
      ['tcp://127.0.0.1:80/path', /path/],
      ['tcp://user@127.0.0.1:80', /user info/],
      ['tcp://[::1]', /port/],
    ];
    for (const [value, why] of bad) {
      assert.throws(
        () => parseWorkloadEndpoint(value),
        (err: unknown) =>
          err instanceof WorkloadEndpointError &&
          why.test(err.message) &&
          /unix:\/\/\/absolute/.test(err.message),
        value,
      );
    }
  });
});

describe('resolveWorkloadEndpoint', () => {
  it('prefers the explicit value, then SPIFFE_ENDPOINT_SOCKET, then the SPIRE default', () => {
    const env = { SPIFFE_ENDPOINT_SOCKET: 'unix:///run/env.sock' };
    assert.equal(resolveWorkloadEndpoint('unix:///run/x.sock', env).url, 'unix:///run/x.sock');
    assert.equal(resolveWorkloadEndpoint(undefined, env).url, 'unix:///run/env.sock');
    assert.equal(resolveWorkloadEndpoint(undefined, {}).url, DEFAULT_WORKLOAD_ENDPOINT);
    assert.equal(
      resolveWorkloadEndpoint(undefined, { SPIFFE_ENDPOINT_SOCKET: '' }).url,
      DEFAULT_WORKLOAD_ENDPOINT,
    );
  });

  it('validates the environment value', () => {
    assert.throws(
      () => resolveWorkloadEndpoint(undefined, { SPIFFE_ENDPOINT_SOCKET: 'tmp/agent.sock' }),
      WorkloadEndpointError,
    );
  });
});
