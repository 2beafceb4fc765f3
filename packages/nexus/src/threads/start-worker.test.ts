import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { startPreloaded, strippedSources } from './start-worker.ts';

const firstMessage = (worker: Worker): Promise<unknown> =>
  new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });

describe('API worker start from stripped sources', () => {
  it('strips the sources of Nexus and its workspace dependencies once, without tests or types', () => {
    const sources = strippedSources();
    assert.equal(strippedSources(), sources, 'built once');
    const worker = pathToFileURL(join(import.meta.dirname, 'api-worker.ts')).href;
    assert.ok(sources.has(worker), 'the worker entry');
    assert.ok(
      [...sources.keys()].some((url) => url.endsWith('/core/src/policy.ts')),
      'a module of @spike-ts/core',
    );
    assert.ok(![...sources.keys()].some((url) => url.endsWith('.test.ts')), 'no test files');
    const code = sources.get(worker) ?? '';
    assert.ok(!/workerData as ApiWorkerData/.test(code), 'type assertions are gone');
    assert.match(code, /workerData/);
  });

  it("runs the entry from the given sources, imports what they lack from files, and hands the worker's data through", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spike-preload-'));
    try {
      const entry = join(dir, 'entry.ts');
      const helper = join(dir, 'helper.ts');
      // On disk the entry would say "from the file"; the sources say otherwise.
      writeFileSync(
        entry,
        "import { parentPort } from 'node:worker_threads';\nparentPort?.postMessage('from the file');\n",
      );
      writeFileSync(helper, 'export const helper: string = "from the helper file";\n');
      const sources = new Map([
        [
          pathToFileURL(entry).href,
          `import { parentPort, workerData } from 'node:worker_threads';
           import { helper } from './helper.ts';
           parentPort.postMessage(['from the sources', helper, workerData.tag]);`,
        ],
      ]);
      const worker = startPreloaded(pathToFileURL(entry), sources, { workerData: { tag: 'data' } });
      try {
        assert.deepEqual(await firstMessage(worker), ['from the sources', 'from the helper file', 'data']);
      } finally {
        await worker.terminate();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails the worker when the entry cannot load', async () => {
    const missing = pathToFileURL(join(tmpdir(), 'spike-preload-missing', 'entry.ts'));
    const worker = startPreloaded(missing, new Map(), {});
    await assert.rejects(firstMessage(worker), /Cannot find module|ERR_MODULE_NOT_FOUND/);
  });
});
