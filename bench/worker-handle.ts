/** The driver's side of a load worker process (`load-worker.ts`), forked with its own identity. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { DriverMessage, RunRequest, RunResult, WorkerMessage } from './load-protocol.ts';

const WORKER = join(import.meta.dirname, 'load-worker.ts');

export class LoadWorker {
  readonly spiffeId: string;
  readonly #child: ChildProcess;
  #waiting: { resolve(r: RunResult): void; reject(e: Error): void } | undefined;

  private constructor(child: ChildProcess, spiffeId: string) {
    this.#child = child;
    this.spiffeId = spiffeId;
    child.on('message', (msg: WorkerMessage) => {
      const w = this.#waiting;
      this.#waiting = undefined;
      if (msg.type === 'result') w?.resolve(msg);
      else if (msg.type === 'failed') w?.reject(new Error(`load worker: ${msg.message}`));
    });
    child.once('exit', (code) => {
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.reject(new Error(`load worker exited with code ${String(code)}`));
    });
  }

  /**
   * Forks a worker whose Workload API socket is `endpoint` and waits for its SVID. With several
   * ports (Nexus replicas) the worker spreads its connections over them.
   */
  static start(
    env: Record<string, string>,
    host: string,
    port: number | readonly number[],
  ): Promise<LoadWorker> {
    const ports = typeof port === 'number' ? String(port) : port.join(',');
    const child = fork(WORKER, [host, ports], {
      env,
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('load worker did not get an SVID within 30 s'));
      }, 30_000);
      child.once('message', (msg: WorkerMessage) => {
        clearTimeout(timer);
        if (msg.type === 'ready') resolve(new LoadWorker(child, msg.spiffeId));
        else
          reject(new Error(`load worker failed to start: ${msg.type === 'failed' ? msg.message : msg.type}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`load worker exited with code ${String(code)} before it was ready`));
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  run(req: Omit<RunRequest, 'type'>): Promise<RunResult> {
    if (this.#waiting !== undefined) return Promise.reject(new Error('load worker is busy'));
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      const msg: DriverMessage = { type: 'run', ...req };
      this.#child.send(msg);
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const msg: DriverMessage = { type: 'stop' };
    try {
      this.#child.send(msg);
    } catch {
      this.#child.kill('SIGTERM');
    }
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
