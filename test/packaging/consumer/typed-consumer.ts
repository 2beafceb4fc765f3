// A consumer's TypeScript file, type-checked against the published declarations (nodenext) and
// run by Node's type stripping (allowed here: this file is the consumer's, not under node_modules).
import { createSpikeClient, isSpikeError, type SpikeClient, type SpikeErrorCode } from '@spike-ts/sdk';
import { createTestPki } from '@spike-ts/sdk/testing';

async function roundTrip(spike: SpikeClient, path: string): Promise<Record<string, string>> {
  await spike.putSecret(path, { lang: 'typescript' });
  return spike.getSecret(path);
}

// The declarations are real types, not `any`: each misuse below must be an error.
async function misuses(spike: SpikeClient): Promise<void> {
  // @ts-expect-error secret values are strings
  await spike.putSecret('apps/consumer/x', { n: 1 });
  // @ts-expect-error getSecret resolves to a record, not a number
  const n: number = await spike.getSecret('apps/consumer/x');
  // @ts-expect-error not a wire code
  const code: SpikeErrorCode = 'no_such_code';
  void [n, code, createTestPki];
}
void misuses;

const spike = await createSpikeClient();
try {
  const values = await roundTrip(spike, 'apps/consumer/typed');
  const lang: string | undefined = values.lang;
  process.stdout.write(`${JSON.stringify({ lang })}\n`);
} catch (err) {
  if (isSpikeError(err)) process.stderr.write(`spike error ${err.code}\n`);
  throw err;
} finally {
  await spike.close();
}
