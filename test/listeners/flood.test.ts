/**
 * A flood of idle connections against a Nexus running under a low open-file limit (as in the
 * report that found the problem): hundreds of idle connections to the health port and hundreds of
 * verified but idle connections from one workload to the API port. With the connection caps the
 * superuser is still answered; without them (the control) the same flood starves it, which shows
 * the flood is big enough to matter.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { createInterface } from 'node:readline';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { openMany, openRaw, openTls } from './slow-clients.ts';

const OPEN_FILES = 200;
const FLOOD = 300;

interface Child {
  readonly port: number;
  readonly healthPort: number;
  readonly caPem: string;
  readonly superuser: { keyPem: string; certPem: string };
  readonly lite: { keyPem: string; certPem: string };
}

const children: ChildProcess[] = [];
const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const c of children) c.kill('SIGKILL');
});

async function startChild(env: Record<string, string>): Promise<Child> {
  const script = fileURLToPath(new URL('./fixtures/nexus-child.ts', import.meta.url));
  const child = spawn(
    'sh',
    [
      '-c',
      `ulimit -n ${String(OPEN_FILES)} && exec "$0" "$@"`,
      process.execPath,
      script,
      JSON.stringify(env),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) return JSON.parse(line) as Child;
  throw new Error('the Nexus child exited before it was listening');
}

function superuserCall(c: Child): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: c.port,
        method: 'POST',
        path: '/v1/store/secrets?action=list',
        agent: false,
        ca: c.caPem,
        key: c.superuser.keyPem,
        cert: c.superuser.certPem,
        checkServerIdentity: () => undefined,
        timeout: 5000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end('{}');
  });
}

async function flood(c: Child): Promise<void> {
  const health = await openMany(FLOOD, () => openRaw(c.healthPort));
  const api = await openMany(FLOOD, () => openTls(c.port, { caPem: c.caPem, ...c.lite }), 8);
  sockets.push(...health.opened, ...api.opened);
}

async function superuserAnswers(c: Child): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push(await superuserCall(c));
  return statuses;
}

// Long timeouts: the flood stays open for the whole test.
const SLOW = { SPIKE_HTTP_SERVER_READ_HEADER_TIMEOUT: '60s', SPIKE_NEXUS_REQUEST_TIMEOUT: '60s' };

describe(`idle-connection flood under an open-file limit of ${String(OPEN_FILES)}`, () => {
  it('the superuser is still answered with the default health cap and a per-caller cap', async () => {
    const c = await startChild({ ...SLOW, SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER: '16' });
    await flood(c);
    assert.deepEqual(
      await superuserAnswers(c),
      Array.from({ length: 10 }, () => 200),
    );
  });

  it('control: without the caps the same flood starves the superuser', async () => {
    const c = await startChild({
      ...SLOW,
      SPIKE_NEXUS_HEALTH_MAX_CONNECTIONS: '1000000',
      SPIKE_NEXUS_MAX_CONNECTIONS: '1000000',
      SPIKE_NEXUS_MAX_CONNECTIONS_PER_CALLER: '0',
    });
    await flood(c);
    const statuses = await superuserAnswers(c);
    assert.ok(
      statuses.some((s) => s !== 200),
      `every call succeeded (${statuses.join(',')}): the flood is too small to test the caps`,
    );
  });
});
