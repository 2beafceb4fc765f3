/**
 * Shared pieces of the root-key custody drills: a bootstrapped stack of real processes on free
 * ports with short keeper intervals, per-identity SVID sources and mTLS clients, the recovery
 * files, direct keeper access (as Nexus / as Bootstrap), a snapshot of everything Nexus stores,
 * and a write load run as a separate process.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { shardFromJson, shardToJson } from '@spike-ts/core';
import {
  createMtlsClient,
  createX509Source,
  isKeeper,
  isNexus,
  trustRootsFromEnv,
  type MtlsClient,
  type X509Source,
} from '@spike-ts/identity';
import { URL_KEEPER_CONTRIBUTE, URL_KEEPER_SHARD } from '@spike-ts/protocol';
import { createSpikeClient, type Policy, type SpikeClient } from '@spike-ts/sdk';
import { Stack, waitFor, type ClientProc, type IdentityName } from '../../scripts/stack.ts';

export const ALL_IDENTITIES: readonly IdentityName[] = [
  'nexus',
  'keeper',
  'bootstrap',
  'pilot',
  'pilot-recover',
  'pilot-restore',
  'lite',
  'demo',
];

/** Heartbeat short, periodic push long: a keeper re-seeded within seconds was re-seeded by the heartbeat. */
export const HEARTBEAT_INTERVAL = '1s';
export const UPDATE_INTERVAL = '10m';

/** Bootstrap settings that fail fast instead of retrying for minutes. */
const BOOTSTRAP_ENV: Record<string, string> = {
  SPIKE_BOOTSTRAP_KEEPER_MAX_RETRIES: '2',
  SPIKE_BOOTSTRAP_KEEPER_RETRY_INITIAL_INTERVAL: '100ms',
  SPIKE_BOOTSTRAP_KEEPER_RETRY_MAX_INTERVAL: '1s',
  SPIKE_BOOTSTRAP_KEEPER_TIMEOUT: '5s',
  SPIKE_BOOTSTRAP_INIT_VERIFICATION_TIMEOUT: '60s',
};

const TRUST_ROOTS = trustRootsFromEnv({});

export interface Share {
  readonly id: number;
  readonly shard: Uint8Array;
}

/** A running, bootstrapped drill system and what the drills need to poke at it. */
export class Drill {
  readonly stack: Stack;
  readonly dir: string;
  private readonly sources = new Map<IdentityName, Promise<X509Source>>();
  private readonly mtls: MtlsClient[] = [];
  private pilotClient: SpikeClient | undefined;

  private constructor(stack: Stack, dir: string) {
    this.stack = stack;
    this.dir = dir;
  }

  /**
   * Start the dev issuer, 3 keepers and Nexus (SQLite) on free ports under a fresh `/tmp/spx-*`
   * directory, bootstrap, and wait until Nexus is ready. On failure everything started is stopped.
   */
  static async start(options: { nexusEnv?: Record<string, string> } = {}): Promise<Drill> {
    const dir = await mkdtemp('/tmp/spx-');
    const stack = await Stack.withFreePorts({
      dir,
      socketDir: join(dir, 's'),
      nexusEnv: {
        SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL: HEARTBEAT_INTERVAL,
        SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL: UPDATE_INTERVAL,
        ...options.nexusEnv,
      },
      keeperEnv: { SPIKE_SYSTEM_LOG_LEVEL: 'INFO' },
    });
    const drill = new Drill(stack, dir);
    try {
      await stack.startIssuer();
      await waitFor('every dev identity socket', 20_000, () =>
        ALL_IDENTITIES.every((n) => existsSync(join(stack.opts.socketDir, `${n}.sock`))),
      );
      await stack.startKeepers();
      await stack.startNexus();
      const boot = await drill.bootstrap();
      assert.equal(boot.code, 0, `bootstrap failed:\n${boot.stderr}`);
      await drill.waitReady();
    } catch (err) {
      await drill.close();
      throw err;
    }
    return drill;
  }

  /** Stop every process, close every client, remove the temp directory. */
  async close(): Promise<void> {
    await this.pilotClient?.close();
    for (const c of this.mtls) c.close();
    await this.stack.stop();
    for (const s of this.sources.values()) await s.then((src) => src.close()).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  bootstrap(args: string[] = ['-init'], env: Record<string, string> = {}): ReturnType<Stack['runBootstrap']> {
    return this.stack.runBootstrap({ ...BOOTSTRAP_ENV, ...env }, args);
  }

  /** Start Nexus and wait until its health listener answers (ready or not). */
  async startNexus(): Promise<void> {
    await this.stack.startNexus();
    await waitFor(
      'the Nexus health listener',
      20_000,
      async () => (await this.stack.nexusState()) !== 'down',
    );
  }

  /** Wait until the health listener says ready (fails the drill after `timeoutMs`). */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    assert.ok(
      await this.stack.waitNexusReady(timeoutMs),
      `Nexus did not become ready; its log ends with:\n${this.stack.readLog('nexus').slice(-3000)}`,
    );
  }

  source(name: IdentityName): Promise<X509Source> {
    let src = this.sources.get(name);
    if (src === undefined) {
      src = createX509Source({ endpoint: this.stack.endpoint(name), timeoutMs: 20_000, env: {} });
      this.sources.set(name, src);
    }
    return src;
  }

  /** An mTLS client holding `name`'s SVID that accepts only `server` ('nexus' or 'keeper'). */
  async mtlsAs(name: IdentityName, server: 'nexus' | 'keeper'): Promise<MtlsClient> {
    const client = createMtlsClient(await this.source(name), {
      authorizeServer: (id) =>
        server === 'nexus' ? isNexus(id.toString(), TRUST_ROOTS) : isKeeper(id.toString(), TRUST_ROOTS),
      keepAlive: false,
      timeoutMs: 10_000,
    });
    this.mtls.push(client);
    return client;
  }

  /** The SDK as the Pilot superuser (in this process). */
  async pilot(): Promise<SpikeClient> {
    this.pilotClient ??= await createSpikeClient({
      source: await this.source('pilot'),
      nexusUrl: this.stack.nexusUrl,
      env: {},
      timeoutMs: 10_000,
    });
    return this.pilotClient;
  }

  /** Run `spike operator recover` (Pilot recover role) and return the files it wrote, by share id. */
  async recover(): Promise<Map<number, string>> {
    const res = await this.stack.runSpike('pilot-recover', ['operator', 'recover']);
    assert.equal(res.code, 0, `spike operator recover failed:\n${res.stderr}`);
    return this.recoveryFiles();
  }

  /** The recovery files currently on disk: share id -> file content. */
  async recoveryFiles(): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const name of await readdir(this.stack.recoveryDir)) {
      const m = /^spike\.recovery\.(\d+)\.txt$/.exec(name);
      if (m !== null) out.set(Number(m[1]), await readFile(join(this.stack.recoveryDir, name), 'utf8'));
    }
    return out;
  }

  /** Keeper #index's share as Nexus sees it (`/v1/store/shard` with the Nexus SVID), or 'empty'. */
  async keeperShard(index: number): Promise<Uint8Array | 'empty'> {
    const client = await this.mtlsAs('nexus', 'keeper');
    const res = await client.request(this.stack.keeperUrl(index) + URL_KEEPER_SHARD, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    if (res.status === 400) return 'empty';
    assert.equal(res.status, 200, `keeper ${String(index + 1)} answered ${String(res.status)}`);
    return shardFromJson((JSON.parse(res.body.toString('utf8')) as { shard: unknown }).shard);
  }

  /** Hand keeper #index a share as Bootstrap does (`/v1/store/contribute` with the Bootstrap SVID). */
  async contribute(index: number, shard: Uint8Array): Promise<void> {
    const client = await this.mtlsAs('bootstrap', 'keeper');
    const res = await client.request(this.stack.keeperUrl(index) + URL_KEEPER_CONTRIBUTE, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ shard: shardToJson(shard) }),
    });
    assert.equal(res.status, 200, `keeper ${String(index + 1)} refused the share: ${res.body.toString()}`);
  }

  /** Wait until keeper #index holds exactly `expected` (e.g. after Nexus re-seeds it). */
  async waitKeeperHolds(index: number, expected: Uint8Array, timeoutMs = 15_000): Promise<void> {
    await waitFor(`keeper ${String(index + 1)} to hold its share`, timeoutMs, async () => {
      const got = await this.keeperShard(index).catch(() => 'empty' as const);
      return got !== 'empty' && Buffer.from(got).equals(Buffer.from(expected));
    });
  }

  /** Assert every keeper holds the share of the same id in `files` (keeper i = share i). */
  async assertKeepersHold(files: Map<number, string>): Promise<void> {
    for (let i = 0; i < this.stack.opts.keeperPorts.length; i++) {
      const expected = parseRecoveryText(files.get(i + 1) ?? '');
      const got = await this.keeperShard(i);
      assert.notEqual(got, 'empty', `keeper ${String(i + 1)} holds no share`);
      assert.ok(
        Buffer.from(got as Uint8Array).equals(Buffer.from(expected.shard)),
        `keeper ${String(i + 1)} does not hold share ${String(i + 1)} of the root key`,
      );
    }
  }

  /** Everything Nexus serves: every secret's current values and every policy. */
  async snapshot(): Promise<Snapshot> {
    const client = await this.pilot();
    const secrets: Record<string, Record<string, string>> = {};
    for (const path of (await client.listSecrets()).sort()) secrets[path] = await client.getSecret(path);
    const policies: Policy[] = [];
    for (const { name } of await client.listPolicies()) policies.push(await client.getPolicy(name));
    policies.sort((a, b) => a.name.localeCompare(b.name));
    return { secrets, policies };
  }

  /** Current length of a component's log, to look only at what it writes after this point. */
  logMark(name: string): number {
    return this.stack.readLog(name).length;
  }

  logSince(name: string, mark: number): string {
    return this.stack.readLog(name).slice(mark);
  }

  /**
   * Waits until what a component logged after `mark` matches `pattern` (a string: contains it) and
   * returns it. Log lines reach the file through a pipe, so a line can land a moment after the
   * state it reports.
   */
  async logMatching(
    name: string,
    mark: number,
    pattern: RegExp | string,
    timeoutMs = 10_000,
  ): Promise<string> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const log = this.logSince(name, mark);
      if (typeof pattern === 'string' ? log.includes(pattern) : pattern.test(log)) return log;
      if (Date.now() > end)
        assert.fail(`${name} did not log ${String(pattern)} within ${String(timeoutMs)} ms:\n${log}`);
      await sleep(50);
    }
  }

  /** Start the write load (`write-load.ts`) as the Pilot superuser, writing under `prefix`. */
  startWriteLoad(prefix: string, concurrency = 4): WriteLoad {
    return new WriteLoad(
      this.stack.startClient(
        'write-load',
        join(import.meta.dirname, 'write-load.ts'),
        [prefix, String(concurrency)],
        'pilot',
      ),
    );
  }
}

export interface Snapshot {
  readonly secrets: Record<string, Record<string, string>>;
  readonly policies: Policy[];
}

/** Parse a recovery file's `spike:<id>:<hex>` (the drills' own reader, independent of the CLI's). */
export function parseRecoveryText(text: string): Share {
  const m = /^spike:(\d+):([0-9a-f]{64})$/.exec(text);
  assert.ok(m !== null, 'not a recovery file');
  return { id: Number(m[1]), shard: new Uint8Array(Buffer.from(m[2] ?? '', 'hex')) };
}

export function formatRecoveryText(share: Share): string {
  return `spike:${String(share.id)}:${Buffer.from(share.shard).toString('hex')}`;
}

/** The write load's view: acknowledged writes (path -> value) and failed attempts. */
export class WriteLoad {
  readonly proc: ClientProc;

  constructor(proc: ClientProc) {
    this.proc = proc;
  }

  acks(): Map<string, string> {
    const out = new Map<string, string>();
    for (const line of this.proc.stdout().split('\n')) {
      const [kind, path, value] = line.split(' ');
      if (kind === 'ack' && path !== undefined && value !== undefined) out.set(path, value);
    }
    return out;
  }

  errors(): number {
    return this.proc
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('err ')).length;
  }

  /** Wait until at least `count` writes were acknowledged (the load must keep running). */
  async waitAcks(count: number, timeoutMs = 60_000): Promise<void> {
    await waitFor(`${String(count)} acknowledged writes`, timeoutMs, () => {
      if (this.proc.child.exitCode !== null) {
        throw new Error(`the write load exited early:\n${this.proc.stderr()}`);
      }
      return this.acks().size >= count;
    });
  }

  async waitErrors(count: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(`${String(count)} failed writes`, timeoutMs, () => this.errors() >= count);
  }

  /** SIGTERM: in-flight writes finish (ack or err), then the process exits 0. */
  async stop(): Promise<void> {
    await this.proc.stop('SIGTERM');
    assert.equal(await this.proc.exited, 0, `the write load failed:\n${this.proc.stderr()}`);
  }
}

export { sleep, waitFor };
