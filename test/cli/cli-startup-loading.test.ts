/**
 * What `spike` loads at start-up, recorded by a module resolution hook (not timed): the help,
 * the version and the completion scripts load no gRPC, X.509 or SDK code, and `spike secret get`
 * loads none of the other commands' helpers, no dev identity issuer, JWT library or server code.
 * Start-up times are in docs/benchmarks.md.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SPIKE_BIN } from './cli-harness.ts';

const RECORDER = fileURLToPath(new URL('./record-loads.ts', import.meta.url));

/** Modules that only a command talking to Nexus needs. */
const HEAVY = [
  /\/node_modules\/@grpc\//,
  /\/node_modules\/protobufjs\//,
  /\/node_modules\/@peculiar\//,
  /\/node_modules\/jose\//,
  /\/packages\/sdk\/src\//,
  /\/packages\/identity\/src\//,
  /\/packages\/cli\/src\/open-workload-source\.ts$/,
  /\/packages\/cli\/src\/describe-error\.ts$/,
];

describe('spike start-up: modules loaded', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spike-loads-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function loads(args: string[]): Promise<{ code: number | null; urls: string[] }> {
    const file = join(dir, `loads-${String(n++)}.txt`);
    const run = spawnSync(process.execPath, ['--import', RECORDER, SPIKE_BIN, ...args], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: dir,
        RECORD_LOADS_TO: file,
        SPIFFE_ENDPOINT_SOCKET: `unix://${dir}/no-agent.sock`,
        SPIKE_NEXUS_API_URL: 'https://127.0.0.1:1',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const urls = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
    return { code: run.status, urls };
  }

  for (const args of [
    ['--help'],
    ['-h'],
    ['help'],
    ['version'],
    ['--version'],
    ['-v'],
    ['completion', 'bash'],
    ['completion', 'zsh'],
    ['secret', '--help'],
  ]) {
    it(`spike ${args.join(' ')} loads no gRPC, X.509 or SDK code`, async () => {
      const { code, urls } = await loads(args);
      assert.equal(code, 0);
      assert.ok(
        urls.some((u) => u.endsWith('/packages/cli/src/run-cli.ts')),
        'the recorder saw the CLI load',
      );
      const heavy = urls.filter((u) => HEAVY.some((re) => re.test(u)));
      assert.deepEqual(heavy, []);
    });
  }

  it("spike secret get loads the SDK and identity, but no other command's helpers", async () => {
    const { code, urls } = await loads(['secret', 'get', 'app/db']);
    assert.equal(code, 7, 'no agent socket: no SVID');
    assert.ok(urls.some((u) => /\/packages\/identity\/src\//.test(u)));
    const others = urls.filter((u) =>
      /\/packages\/cli\/src\/(run-child|policy-file|recovery-files|write-output)\.ts$/.test(u),
    );
    assert.deepEqual(others, []);
    // CA minting is the dev issuer's and the tests' (`@spike-ts/identity/mint`). @peculiar/x509
    // itself does load: svid.ts parses SVID extensions with it.
    assert.deepEqual(
      urls.filter((u) => u.endsWith('/packages/identity/src/mint.ts')),
      [],
    );
  });

  it('spike secret get loads no dev issuer, JWT or server code, only the client side of identity', async () => {
    const { code, urls } = await loads(['secret', 'get', 'app/db']);
    assert.equal(code, 7, 'no agent socket: no SVID');
    assert.ok(
      urls.some((u) => u.endsWith('/packages/identity/src/mtls-client.ts')),
      'the recorder saw the SDK',
    );
    const notNeeded = urls.filter((u) =>
      [
        // the dev identity issuer, its JWT library, its Workload API server
        /\/packages\/dev-identity\//,
        /\/node_modules\/@spike-ts\/dev-identity\//,
        /\/node_modules\/jose\//,
        /workload-server\.ts$/,
        // the servers and their HTTP, storage and core code
        /\/packages\/(nexus|keeper|bootstrap|http|store|core)\/src\//,
        // identity's server and certificate-minting code (the client entry point leaves them out)
        /\/packages\/identity\/src\/(index|mint|static-source|mtls-server|listener-limits)\.ts$/,
      ].some((re) => re.test(u)),
    );
    assert.deepEqual(notNeeded, []);
  });
});
