/**
 * Test fixture for sqlite-crash.test.ts (run as a child process, killed with SIGKILL).
 * Usage: node sqlite-crash-writer.ts <dataDir> <rootKeyHex> <firstIndex>
 * Keeps many writes in flight and prints one line per acknowledged write:
 *   `ack <n>`      secret `crash/<n>` holds { n: "<n>" }
 *   `counter <c>`  secret `crash/counter` reached value c
 */
import type { SecretRecord } from '@spike-ts/core';
import { createSqliteStore } from '@spike-ts/store';
import { putVersion } from '@spike-ts/store/testing';

const [dataDir, keyHex, first] = process.argv.slice(2);
if (dataDir === undefined || keyHex === undefined || first === undefined) {
  process.stderr.write('usage: sqlite-crash-writer.ts <dataDir> <rootKeyHex> <firstIndex>\n');
  process.exit(2);
}
// Never outlive a parent that failed to kill us.
setTimeout(() => process.exit(3), 60_000).unref();

const store = createSqliteStore({ dataDir });
await store.unlock(Buffer.from(keyHex, 'hex'));
process.stdout.write('ready\n');

let next = Number(first);
const counterOf = (rec: SecretRecord | undefined): number =>
  Number(rec?.versions.at(-1)?.data['count'] ?? '0');

async function writer(): Promise<never> {
  for (;;) {
    const n = next++;
    const path = `crash/${n}`;
    await store.updateSecret(path, putVersion(path, { n: String(n) }));
    process.stdout.write(`ack ${n}\n`);
    const count = await store.updateSecret('crash/counter', (current) => {
      const value = counterOf(current) + 1;
      return {
        next: putVersion('crash/counter', { count: String(value) }, { maxVersions: 3 })(current).next,
        result: value,
      };
    });
    process.stdout.write(`counter ${count}\n`);
  }
}

await Promise.all(Array.from({ length: 32 }, writer));
