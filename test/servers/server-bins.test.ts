/**
 * The server binaries as an operator first meets them: `--help` and `--version` answer without
 * any configuration, unknown arguments are refused (exit 2), and a missing Workload API socket
 * is reported once, clearly, while the server keeps retrying quietly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = (pkg: string, name: string): string =>
  fileURLToPath(new URL(`../../packages/${pkg}/bin/${name}.js`, import.meta.url));

const SERVERS = [
  { name: 'spike-nexus', path: bin('nexus', 'spike-nexus') },
  { name: 'spike-keeper', path: bin('keeper', 'spike-keeper') },
  { name: 'spike-bootstrap', path: bin('bootstrap', 'spike-bootstrap') },
] as const;

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...extra };
}

describe('server binaries: --help, --version, unknown arguments', () => {
  for (const server of SERVERS) {
    it(`${server.name} answers --help and --version and refuses unknown arguments`, () => {
      const run = (args: string[]) =>
        spawnSync(process.execPath, [server.path, ...args], {
          env: baseEnv(),
          encoding: 'utf8',
          timeout: 60_000,
        });
      const help = run(['--help']);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^Usage: ${server.name} `));
      for (const flag of ['--version', '-v']) {
        const version = run([flag]);
        assert.equal(version.status, 0, version.stderr);
        assert.match(version.stdout, new RegExp(`^${server.name} \\d+\\.\\d+\\.\\d+\\n$`));
      }
      const bad = run(['--listen', ':1']);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /"--listen"/);
      assert.equal(bad.stdout, '');
    });
  }
});

describe('servers without a Workload API socket', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spike-noagent-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const server of SERVERS) {
    it(`${server.name} says once that the socket does not exist, then retries quietly`, async () => {
      const socket = join(dir, `${server.name}-agent.sock`);
      const child = spawn(process.execPath, [server.path], {
        env: baseEnv({
          SPIFFE_ENDPOINT_SOCKET: `unix://${socket}`,
          SPIKE_SPIFFE_SOURCE_TIMEOUT: '10m',
          SPIKE_SYSTEM_LOG_LEVEL: 'DEBUG',
          SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
          SPIKE_NEXUS_HEALTH_ADDR: 'off',
          SPIKE_NEXUS_BACKEND_STORE: 'sqlite',
          SPIKE_NEXUS_DATA_DIR: join(dir, server.name),
          SPIKE_NEXUS_KEEPER_PEERS: 'https://127.0.0.1:1,https://127.0.0.1:2,https://127.0.0.1:3',
          SPIKE_KEEPER_TLS_PORT: '127.0.0.1:0',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const retries = (): number =>
        (output.match(/workload api stream interrupted; reconnecting/g) ?? []).length;
      try {
        await new Promise<void>((resolve, reject) => {
          const onData = (c: Buffer): void => {
            output += c.toString('utf8');
            // Three quiet retries after the first report: enough to see that they stay quiet.
            if (retries() >= 3) resolve();
          };
          child.stdout.on('data', onData);
          child.stderr.on('data', onData);
          child.once('close', (code) =>
            reject(new Error(`${server.name} exited (${String(code)}): ${output}`)),
          );
        });
      } finally {
        child.kill('SIGKILL');
      }
      const reports = output.split('\n').filter((l) => l.includes('does not exist'));
      assert.equal(reports.length, 1, output);
      assert.ok(reports[0]?.includes(`socket ${socket} does not exist`), reports[0]);
      assert.match(reports[0] ?? '', /npx spike-dev-identity/);
      assert.match(reports[0] ?? '', /"level":"warn"/);
      const warnings = output
        .split('\n')
        .filter((l) => l.includes('"level":"warn"') && /workload api/i.test(l));
      assert.deepEqual(warnings, reports, 'no other warning about the Workload API');
    });
  }
});
