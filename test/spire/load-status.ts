/**
 * Reading and stopping the load client (`load-client.ts`) from the test process.
 */
import { tail, type ManagedChild } from './child-process.ts';

/** Latest status line of a load client (`final` when it has stopped). */
export interface LoadStatus {
  final: boolean;
  ok: number;
  failed: number;
  serials: string[];
  errors: string[];
}

export function lastLoadStatus(child: ManagedChild): LoadStatus | undefined {
  const lines = child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  const last = lines.at(-1);
  return last === undefined ? undefined : (JSON.parse(last) as LoadStatus);
}

/** Ends a load client's stdin and returns its final status. */
export async function stopLoad(child: ManagedChild): Promise<LoadStatus> {
  child.proc.stdin?.end();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timeout'), 30_000)));
  const code = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  const status = lastLoadStatus(child);
  if (code !== 0 || status?.final !== true) {
    await child.stop('SIGKILL');
    throw new Error(`load client did not stop cleanly (${String(code)}):\n${tail(child.output())}`);
  }
  return status;
}
