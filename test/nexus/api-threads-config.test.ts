import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPki, startNexus } from './harness.ts';

describe('API threads configuration', () => {
  it('refuses API threads with a store handed in from outside (its commits would not reach the workers)', async () => {
    const pki = await createPki();
    await assert.rejects(
      startNexus(pki, { backend: 'sqlite', env: { SPIKE_NEXUS_API_THREADS: '2' } }),
      /SPIKE_NEXUS_API_THREADS above 1 needs the store built from the configuration/,
    );
  });
});
