/**
 * In-process tests of `runCli` with a stub SDK client: what needs a terminal (confirmation,
 * hidden prompt) or precise control (probe timeouts, error translation).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { X509Source } from '@spike-ts/identity';
import type { SpikeClient } from '@spike-ts/sdk';
import { SpikeConnectionError, SpikeNotFoundError } from '@spike-ts/sdk';
import type { CliIo, InputStream } from './cli-io.ts';
import { ExitCode } from './exit-code.ts';
import { NOT_READY_REMINDER, probeReady, runCli } from './run-cli.ts';

const SUPERUSER = 'spiffe://spike.ist/spike/pilot/role/superuser';
const RESTORE = 'spiffe://spike.ist/spike/pilot/role/restore';

function source(spiffeId: string): X509Source {
  return {
    getX509Svid: () => ({ spiffeId }) as ReturnType<X509Source['getX509Svid']>,
    getX509Bundles: () => new Map(),
    onUpdate: () => () => undefined,
    close: () => Promise.resolve(),
  };
}

type Calls = { name: string; args: unknown[] }[];

function stubClient(calls: Calls, overrides: Partial<SpikeClient> = {}): SpikeClient {
  const record =
    (name: string, result: unknown = undefined) =>
    (...args: unknown[]) => {
      calls.push({ name, args });
      return Promise.resolve(result);
    };
  return new Proxy({} as SpikeClient, {
    get(_t, prop: string) {
      if (prop === 'then') return undefined; // not a thenable
      if (prop in overrides) return overrides[prop as keyof SpikeClient];
      if (prop === 'nexusUrl') return 'https://nexus.test:8553';
      if (prop === 'getPolicy') return record('getPolicy', { name: 'p', id: '', permissions: [] });
      if (prop === 'restore') return record('restore', { collected: 1, remaining: 2, restored: false });
      return record(prop);
    },
  });
}

class FakeTty extends PassThrough {
  readonly isTTY = true;
  rawModes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.rawModes.push(mode);
    return this;
  }
}

interface Harness {
  io: CliIo;
  out: () => string;
  err: () => string;
  calls: Calls;
}

function harness(opts: { id?: string; stdin?: InputStream; client?: Partial<SpikeClient> } = {}): Harness {
  let out = '';
  let err = '';
  const calls: Calls = [];
  const io: CliIo = {
    env: {},
    stdout: { write: (c) => (out += String(c)) },
    stderr: { write: (c) => (err += String(c)) },
    stdin: opts.stdin ?? new PassThrough(),
    openSource: () => Promise.resolve(source(opts.id ?? SUPERUSER)),
    openClient: () => Promise.resolve(stubClient(calls, opts.client)),
  };
  return { io, out: () => out, err: () => err, calls };
}

describe('runCli in process', () => {
  it('policy delete asks (y/N) on a terminal and deletes on y', async () => {
    const tty = new FakeTty();
    const h = harness({ stdin: tty });
    const done = runCli(['policy', 'delete', 'p'], h.io);
    setTimeout(() => tty.write('y\n'), 20);
    assert.equal(await done, ExitCode.Ok);
    assert.match(h.err(), /Delete policy 'p'\? This cannot be undone\. \(y\/N\)/);
    assert.deepEqual(
      h.calls.map((c) => c.name),
      ['getPolicy', 'deletePolicy', 'close'],
    );
  });

  it('policy delete does nothing unless the answer is yes', async () => {
    for (const answer of ['n\n', '\n', 'yess\n']) {
      const tty = new FakeTty();
      const h = harness({ stdin: tty });
      const done = runCli(['policy', 'delete', '--name', 'p'], h.io);
      setTimeout(() => tty.write(answer), 20);
      assert.equal(await done, ExitCode.Ok);
      assert.match(h.err(), /Cancelled; nothing was deleted/);
      assert.ok(!h.calls.some((c) => c.name === 'deletePolicy'));
    }
  });

  it('operator restore prompts without echo on a terminal', async () => {
    const tty = new FakeTty();
    const h = harness({ id: RESTORE, stdin: tty });
    const share = `spike:2:${'5a'.repeat(32)}`;
    const done = runCli(['operator', 'restore'], h.io);
    setTimeout(() => tty.write(share + '\r'), 20);
    assert.equal(await done, ExitCode.Ok);
    assert.deepEqual(tty.rawModes, [true, false], 'raw mode on, then restored');
    assert.ok(!h.err().includes('5a5a'), 'the share is never echoed');
    assert.match(h.err(), /input hidden/);
    assert.match(h.err(), /Shards collected: 1, remaining: 2/);
    const call = h.calls.find((c) => c.name === 'restore');
    assert.equal(call?.args[0], 2);
    assert.deepEqual(call?.args[1], new Uint8Array(32).fill(0), 'the share buffer is zeroed after use');
  });

  it('translates SDK errors with the command context', async () => {
    const h = harness({ client: { getSecret: () => Promise.reject(new SpikeNotFoundError()) } });
    assert.equal(await runCli(['secret', 'get', 'a/b'], h.io), ExitCode.NotFound);
    assert.equal(h.err(), "Error: Secret 'a/b' not found.\n");
    const down = harness({
      client: {
        listSecretsReport: () =>
          Promise.reject(new SpikeConnectionError('https://n:1', 'x', new Error('ECONNREFUSED'))),
      },
    });
    assert.equal(await runCli(['secret', 'list'], down.io), ExitCode.Unreachable);
    assert.match(
      down.err(),
      /Cannot reach SPIKE Nexus at https:\/\/n:1 \(ECONNREFUSED\).*SPIKE_NEXUS_API_URL is not set/,
    );
  });

  it('the help probe never hangs: a source that never answers gives the reminder', async () => {
    const h = harness();
    const io: CliIo = { ...h.io, openSource: () => new Promise<X509Source>(() => undefined) };
    const started = Date.now();
    assert.equal(await runCli([], io, { probeTimeoutMs: 100 }), ExitCode.Ok);
    assert.ok(Date.now() - started < 10_000);
    assert.match(h.out(), /Usage: spike/);
    assert.equal(h.err(), NOT_READY_REMINDER);
  });

  it('the help probe succeeds quietly when secret list answers', async () => {
    const h = harness();
    assert.equal(await probeReady(h.io, 1000), true);
    assert.deepEqual(
      h.calls.map((c) => c.name),
      ['listSecrets', 'close'],
    );
    assert.equal(await runCli(['--help'], h.io), ExitCode.Ok);
    assert.equal(h.err(), '');
  });
});
