/**
 * `main` in this process (the executable itself is tested under test/dev-mode): it starts the
 * stack, prints the banner, serves a Nexus that answers, and on a signal stops everything and
 * resolves with 0; production and usage errors resolve with 2 before anything starts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from './main.ts';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  return { stream, text: () => text };
}

describe('main', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const socketDir = (): string => {
    const d = mkdtempSync('/tmp/sdm-');
    dirs.push(d);
    return join(d, 's');
  };
  /** `main` on a free port and a fresh socket folder, its output captured, signals ours to send. */
  const startMain = () => {
    const dir = socketDir();
    const out = capture();
    const err = capture();
    const signals = new EventEmitter();
    const done = main(['--port', '0', '--socket-dir', dir], {
      env: { PATH: process.env['PATH'] },
      stdout: out.stream,
      stderr: err.stream,
      signals,
    });
    return { dir, out, err, signals, done };
  };

  it('serves until a signal, then stops everything and resolves with 0', async () => {
    const { dir, out, err, signals, done } = startMain();
    while (!out.text().includes('spike-dev: ready')) await new Promise((r) => setTimeout(r, 20));
    assert.match(out.text(), /DEVELOPMENT ONLY/);
    assert.ok(out.text().includes(`export SPIFFE_ENDPOINT_SOCKET=unix://${join(dir, 'pilot.sock')}`));
    assert.ok(readdirSync(dir).includes('nexus.sock'));
    assert.equal(signals.listenerCount('SIGTERM'), 1);
    signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await done, 0);
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(signals.listenerCount('SIGINT'), 0, 'handlers removed');
    assert.match(err.text(), /SIGTERM received/);
  });

  it('a signal during start-up stops everything once the start has ended, without serving', async () => {
    const { dir, out, err, signals, done } = startMain();
    // main has installed its handlers and is now starting (its first await is inside the start).
    assert.equal(signals.listenerCount('SIGINT'), 1);
    signals.emit('SIGINT', 'SIGINT');
    assert.equal(signals.listenerCount('SIGINT'), 0, 'a second Ctrl-C gets the default: quit at once');
    assert.equal(await done, 0);
    assert.match(err.text(), /SIGINT received while starting; stopping as soon as the start has ended/);
    assert.match(err.text(), /SIGINT received, stopping/);
    assert.doesNotMatch(out.text(), /spike-dev: ready/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('resolves with 2 for NODE_ENV=production and for usage errors, creating nothing', async () => {
    const dir = socketDir();
    const err = capture();
    const io = { stdout: capture().stream, stderr: err.stream, signals: new EventEmitter() };
    assert.equal(await main(['--socket-dir', dir], { ...io, env: { NODE_ENV: 'production' } }), 2);
    assert.match(err.text(), /refusing to start: NODE_ENV=production/);
    assert.equal(await main(['--socket-dir', dir, 'extra'], { ...io, env: {} }), 2);
    assert.equal(await main(['--socket-dir', dir], { ...io, env: { SPIKE_SYSTEM_LOG_LEVEL: 'loud' } }), 2);
    assert.match(err.text(), /invalid configuration: .*SPIKE_SYSTEM_LOG_LEVEL/);
    assert.equal(existsSync(dir), false);
  });
});
