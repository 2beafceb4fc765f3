/**
 * `npm run demo` (scripts/demo.ts) as real processes, in a private state directory on free
 * ports: a second demo over the same directory, or on the same ports, refuses clearly and leaves
 * the first one alone; a demo started again over its own data restores the root key from the
 * recovery files by default and shows Nexus ready.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../../scripts/stack.ts';

const DEMO = fileURLToPath(new URL('../../scripts/demo.ts', import.meta.url));

interface Demo {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Resolves when the output matches `re`; rejects if the demo exits first. */
  waitFor(re: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

function startDemo(args: string[]): Demo {
  const child = spawn(process.execPath, [DEMO, ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (c: Buffer): void => {
    text += c.toString('utf8');
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (re.test(text)) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
        void exited.then((code) => {
          if (!re.test(text))
            reject(new Error(`demo exited (${String(code)}) before ${String(re)}:\n${text}`));
        });
      }),
  };
}

async function stop(demo: Demo): Promise<number | null> {
  if (demo.child.exitCode === null && demo.child.signalCode === null) demo.child.kill('SIGINT');
  const timer = setTimeout(() => demo.child.kill('SIGKILL'), 30_000);
  try {
    return await demo.exited;
  } finally {
    clearTimeout(timer);
  }
}

describe('npm run demo', () => {
  let dir: string;
  let socketDir: string;
  let ports: string;
  const running: Demo[] = [];
  const demo = (extra: string[] = [], at = dir): Demo => {
    const d = startDemo(['--dir', at, '--socket-dir', socketDir, '--ports', ports, ...extra]);
    running.push(d);
    return d;
  };

  before(async () => {
    dir = await mkdtemp('/tmp/spike-demo-test-');
    socketDir = await mkdtemp('/tmp/sdt-');
    ports = (await freePorts(5)).join(',');
  });
  after(async () => {
    await Promise.all(running.map((d) => stop(d)));
    await rm(dir, { recursive: true, force: true });
    await rm(socketDir, { recursive: true, force: true });
  });

  it('refuses a second demo, then restores from the recovery files by default', async () => {
    const first = demo();
    await first.waitFor(/Press Ctrl-C to stop everything\./);
    assert.match(first.output(), /nexus\s+https:\/\/localhost:\d+\s+ready/);
    assert.ok(existsSync(join(dir, 'recovery', 'recover', 'spike.recovery.1.txt')));

    // Same state directory: refused at once, naming the running demo.
    const second = demo();
    assert.equal(await second.exited, 1);
    assert.match(
      second.output(),
      new RegExp(`another demo is already running with .*\\(pid ${String(first.child.pid)}\\)`),
    );
    assert.doesNotMatch(second.output(), /==> Starting/, 'nothing of the second demo started');

    // Another directory but the same ports: refused before anything starts.
    const other = await mkdtemp('/tmp/spike-demo-test-');
    try {
      const third = demo([], other);
      assert.equal(await third.exited, 1);
      assert.match(third.output(), /ports? .* already in use/);
      assert.doesNotMatch(third.output(), /==> Starting/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    assert.equal(first.child.exitCode, null, 'the first demo still runs');

    assert.equal(await stop(first), 0);
    assert.match(first.output(), /Stopped\. Data is kept in/);
    assert.ok(!existsSync(join(dir, 'demo.pid')), 'the pid file is removed on stop');

    // Started again: the keepers are empty, so it restores from 2 of the 3 saved files, at once.
    const again = demo();
    await again.waitFor(/Press Ctrl-C to stop everything\./);
    const text = again.output();
    assert.match(text, /restoring the root key from 2 of 3 saved recovery files/);
    assert.equal((text.match(/spike\.recovery\.\d\.txt: /g) ?? []).length, 2);
    assert.match(text, /SPIKE is now restored and ready to use\./);
    assert.match(text, /nexus\s+https:\/\/localhost:\d+\s+ready/);
    assert.doesNotMatch(text, /Bootstrapping/);
    assert.equal(await stop(again), 0);
  });
});
