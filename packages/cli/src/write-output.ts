/**
 * @module write-output
 * Write command output to `--out` (created 0600: it may be decrypted plaintext) or to stdout.
 */
import { writeFile } from 'node:fs/promises';
import type { CliIo } from './cli-io.ts';
import { CliError } from './exit-code.ts';
import { shown } from './cli-args.ts';

export async function writeOutput(io: CliIo, out: string | undefined, bytes: Uint8Array): Promise<void> {
  if (out === undefined) {
    io.stdout.write(bytes);
    return;
  }
  try {
    await writeFile(out, bytes, { mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`Cannot write --out '${shown(out)}': ${code}.`);
  }
}
