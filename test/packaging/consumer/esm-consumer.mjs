/* global process */
// A consumer's plain ESM file: imports the published SDK by its package name, writes a secret,
// reads it back and a secret written by the CLI, and is refused a path outside its policy.
// Usage: node esm-consumer.mjs <path to write>
import { createSpikeClient, isSpikeError, SpikeUnauthorizedError } from '@spike-ts/sdk';

const [path] = process.argv.slice(2);
const spike = await createSpikeClient();
try {
  await spike.putSecret(path, { node: process.version });
  const back = await spike.getSecret(path);
  const fromCli = await spike.getSecret('apps/consumer/from-cli');
  let outside = 'allowed';
  try {
    await spike.getSecret('tenants/other/creds');
  } catch (err) {
    outside =
      isSpikeError(err) && err instanceof SpikeUnauthorizedError ? `refused ${err.status}` : String(err);
  }
  process.stdout.write(`${JSON.stringify({ back, fromCli, outside })}\n`);
} finally {
  await spike.close();
}
