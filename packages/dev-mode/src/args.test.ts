import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_NEXUS_PORT, parseDevModeArgs } from './args.ts';
import { componentEnv } from './dev-stack.ts';

describe('parseDevModeArgs', () => {
  it('defaults: SPIKE port 8553, no socket dir, no extra identities', () => {
    assert.deepEqual(parseDevModeArgs([]), {
      kind: 'run',
      args: { port: DEFAULT_NEXUS_PORT, socketDir: undefined, dataDir: undefined, identities: [] },
    });
    assert.equal(DEFAULT_NEXUS_PORT, 8553);
  });

  it('reads every flag; --identity repeats', () => {
    assert.deepEqual(
      parseDevModeArgs([
        '--port',
        '0',
        '--socket-dir',
        '/tmp/x',
        '--data-dir',
        'dev-data',
        '--identity',
        'a=spiffe://spike.ist/workload/a',
        '--identity',
        'b=spiffe://spike.ist/workload/b',
      ]),
      {
        kind: 'run',
        args: {
          port: 0,
          socketDir: '/tmp/x',
          dataDir: 'dev-data',
          identities: [
            { name: 'a', spiffeId: 'spiffe://spike.ist/workload/a' },
            { name: 'b', spiffeId: 'spiffe://spike.ist/workload/b' },
          ],
        },
      },
    );
    assert.equal(parseDevModeArgs(['--port', '65535']).kind, 'run');
  });

  it('help and version win over other flags', () => {
    assert.equal(parseDevModeArgs(['--port', '1', '-h']).kind, 'help');
    assert.equal(parseDevModeArgs(['-v']).kind, 'version');
  });

  it('refuses unknown flags, positionals, bad ports, bad identities and empty directories', () => {
    for (const argv of [
      ['--nope'],
      ['run'],
      ['--port'],
      ['--port', ''],
      ['--port', '1.5'],
      ['--port', '0x10'],
      ['--port', '65536'],
      ['--port', '123456'],
      ['--identity', 'noequals'],
      ['--identity', '=spiffe://spike.ist/x'],
      ['--socket-dir', ''],
      ['--data-dir', ''],
      ['--data-dir'],
      ['--help=yes'],
    ]) {
      const parsed = parseDevModeArgs(argv);
      assert.equal(parsed.kind, 'usage-error', argv.join(' '));
    }
  });
});

describe('componentEnv', () => {
  it("keeps the developer's other variables, drops the ones dev mode owns, applies defaults under and fixed values over", () => {
    const env = componentEnv(
      {
        PATH: '/bin',
        SPIFFE_ENDPOINT_SOCKET: 'unix:///elsewhere/pilot.sock',
        SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
        SPIKE_NEXUS_API_THREADS: '4',
        SPIKE_TRUST_ROOT_NEXUS: 'other.org',
        SPIKE_NEXUS_MAX_SECRET_VERSIONS: '3',
        SPIKE_NEXUS_HEALTH_ADDR: '127.0.0.1:9999',
        UNSET: undefined,
      },
      'unix:///dev/nexus.sock',
      { SPIKE_NEXUS_BACKEND_STORE: 'memory' },
      { SPIKE_NEXUS_HEALTH_ADDR: 'off', SPIKE_SYSTEM_LOG_LEVEL: 'warn' },
    );
    assert.deepEqual(env, {
      PATH: '/bin',
      SPIFFE_ENDPOINT_SOCKET: 'unix:///dev/nexus.sock',
      SPIKE_NEXUS_BACKEND_STORE: 'memory',
      SPIKE_NEXUS_MAX_SECRET_VERSIONS: '3',
      SPIKE_NEXUS_HEALTH_ADDR: '127.0.0.1:9999',
      SPIKE_SYSTEM_LOG_LEVEL: 'warn',
    });
  });
});
