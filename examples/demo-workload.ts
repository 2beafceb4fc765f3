/**
 * Demo workload: the TypeScript twin of SPIKE's `demo` app. It writes the secret
 * `tenants/demo/db/creds` (`username=SPIKE`, `password=SPIKE_Rocks`) through the SDK, reads it
 * back and says whether it matched, without ever printing the password.
 *
 * Run it with an SVID that policies allow to write and read `tenants/demo/db/...` (SPIKE's demo
 * uses `spiffe://spike.ist/workload/demo` with the `workload-can-write` / `workload-can-read`
 * policies, see `spike policy create --help`):
 *
 *   SPIFFE_ENDPOINT_SOCKET=unix:///tmp/spire-agent/public/api.sock \
 *   SPIKE_NEXUS_API_URL=https://localhost:8553 \
 *   npx node examples/demo-workload.ts
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createSpikeClient, isSpikeError } from '@spike-ts/sdk';
import type { SpikeClient } from '@spike-ts/sdk';

export const DEMO_PATH = 'tenants/demo/db/creds';
const DEMO_USERNAME = 'SPIKE';
const DEMO_PASSWORD = 'SPIKE_Rocks';

/** Equality of two secrets without an early exit on the first differing byte. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Put then get the demo secret; returns true when what came back matches what was written. */
export async function runDemo(spike: SpikeClient, say: (line: string) => void): Promise<boolean> {
  say(`Talking to SPIKE Nexus at ${spike.nexusUrl}`);
  say(`Writing secret '${DEMO_PATH}' with keys username and password...`);
  await spike.putSecret(DEMO_PATH, { username: DEMO_USERNAME, password: DEMO_PASSWORD });
  say('Secret written.');
  say(`Reading secret '${DEMO_PATH}'...`);
  const secret = await spike.getSecret(DEMO_PATH);
  const userOk = secret['username'] === DEMO_USERNAME;
  const passwordOk = typeof secret['password'] === 'string' && sameSecret(secret['password'], DEMO_PASSWORD);
  say(`username: ${secret['username'] ?? '(missing)'}`);
  say(
    `password: ${passwordOk ? 'matches the value written (not shown)' : 'DOES NOT MATCH the value written'}`,
  );
  return userOk && passwordOk;
}

async function main(): Promise<number> {
  const say = (line: string): void => {
    process.stdout.write(line + '\n');
  };
  let spike: SpikeClient | undefined;
  try {
    spike = await createSpikeClient();
    const matched = await runDemo(spike, say);
    say(
      matched ? 'Demo finished: the secret round-tripped.' : 'Demo finished: the secret did NOT round-trip.',
    );
    return matched ? 0 : 1;
  } catch (err) {
    const what = isSpikeError(err)
      ? `${err.code}: ${err.message}`
      : err instanceof Error
        ? err.message
        : String(err);
    process.stderr.write(`Demo failed: ${what}\n`);
    return 1;
  } finally {
    await spike?.close();
  }
}

if (import.meta.main) process.exit(await main());
