/**
 * Per-caller rate limits with API threads (`SPIKE_NEXUS_API_THREADS=2`), real processes and real
 * mTLS. Each thread enforces its share of the limit, so a caller whose requests are spread over
 * both threads (a new connection per request) never gets more than the configured total; and the
 * limit of one caller leaves the others alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MtlsClient } from '@spike-ts/identity';
import { Drill } from './drill-kit.ts';

const RPS = 1;
const BURST = 6;
const REQUESTS = 30;

describe('per-caller rate limit with API threads (real processes, real mTLS)', () => {
  let drill: Drill;
  let pilot: MtlsClient;
  let demo: MtlsClient;

  before(async () => {
    drill = await Drill.start({
      nexusEnv: {
        SPIKE_NEXUS_API_THREADS: '2',
        SPIKE_NEXUS_RATE_LIMIT_RPS: String(RPS),
        SPIKE_NEXUS_RATE_LIMIT_BURST: String(BURST),
      },
    });
    pilot = await drill.mtlsAs('pilot', 'nexus');
    demo = await drill.mtlsAs('demo', 'nexus');
    await drill.logMatching('nexus', 0, 'root key installed in API thread');
  });
  after(async () => {
    await drill.close();
  });

  const status = async (client: MtlsClient, path: string, body: unknown): Promise<number> => {
    const res = await client.request(`${drill.stack.nexusUrl}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return res.status;
  };

  it('a caller spread over both threads gets at most the configured total; others are served', async () => {
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      statuses.push(await status(demo, '/v1/store/secrets?action=get', { path: 'limits/x' }));
    }
    const elapsedS = (Date.now() - started) / 1000;
    const admitted = statuses.filter((s) => s !== 429).length;
    // The burst plus what the rate refilled while we sent, plus one for rounding up per thread.
    const allowed = BURST + Math.ceil(RPS * elapsedS) + 1;
    const seen = `statuses ${statuses.join(',')} in ${elapsedS.toFixed(1)} s`;
    assert.ok(
      admitted <= allowed,
      `${String(admitted)} admitted, at most ${String(allowed)} allowed; ${seen}`,
    );
    assert.ok(statuses.includes(429), `no request was limited; ${seen}`);
    // The superuser has its own buckets.
    assert.equal(await status(pilot, '/v1/store/secrets?action=list', {}), 200);
  });
});
