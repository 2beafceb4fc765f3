/**
 * @module audit-command
 * The verifiable audit trail (ADR 0040): `spike audit public-key` and `spike audit checkpoint`
 * print what Nexus's audit key route gives (the key that verifies checkpoints, the last checkpoint
 * written), and `spike audit verify <file>…` checks an audit file offline — every line chained to
 * the one before, every checkpoint signed — and names the first bad line (exit 1).
 */
import type { Command } from 'commander';
import type { AuditChainVerifier } from '@spike-ts/protocol';
import type { CliIo } from '../cli-io.ts';
import { CliError, invalidInput, usageError } from '../exit-code.ts';
import { withNexus } from '../nexus-session.ts';

/** Biggest public-key or checkpoint file read (both are a few hundred bytes). */
const MAX_SMALL_FILE = 64 * 1024;

async function readSmallFile(path: string, what: string): Promise<string> {
  const { readFile, stat } = await import('node:fs/promises');
  try {
    if ((await stat(path)).size > MAX_SMALL_FILE)
      throw invalidInput(`${what} ${path} is too large to be one`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw invalidInput(`Cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Feeds one file's lines; false once the verifier found a bad line (or the file is cut). */
async function feedFile(verifier: AuditChainVerifier, path: string): Promise<boolean> {
  const { createReadStream } = await import('node:fs');
  let rest = '';
  let n = 0;
  try {
    for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
      rest += chunk as string;
      let start = 0;
      for (let end = rest.indexOf('\n'); end !== -1; end = rest.indexOf('\n', start)) {
        n++;
        if (!verifier.line(path, n, rest.slice(start, end))) return false;
        start = end + 1;
      }
      rest = rest.slice(start);
    }
  } catch (err) {
    throw invalidInput(
      `Cannot read the audit file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  if (rest !== '') {
    verifier.cut(path, n + 1);
    return false;
  }
  return true;
}

interface VerifyOptions {
  publicKey?: string[];
  checkpoint?: string;
  allowUnsealedTail?: boolean;
}

export function registerAuditCommands(program: Command, io: CliIo): void {
  const audit = program.command('audit').description('the verifiable audit trail');

  audit
    .command('public-key')
    .description("print the public key (PEM) that verifies Nexus's audit checkpoints (Pilot superuser)")
    .action(async () => {
      const key = await withNexus(io, 'superuser', ({ client }) => client.auditKey());
      io.stdout.write(key.publicKey.endsWith('\n') ? key.publicKey : `${key.publicKey}\n`);
    });

  audit
    .command('checkpoint')
    .description('print the last audit checkpoint Nexus wrote (an anchor for verify --checkpoint)')
    .action(async () => {
      const key = await withNexus(io, 'superuser', ({ client }) => client.auditKey());
      io.stdout.write(`${key.checkpoint}\n`);
    });

  audit
    .command('verify')
    .description(
      'check audit files (rotated files oldest first): chain, signatures, order, cut tail; exit 1 naming the first bad line',
    )
    .argument('<file...>', 'audit files, in the order they were written')
    .option(
      '--public-key <file>',
      'PEM public key of the checkpoints (repeat for older keys); default: ask Nexus (Pilot superuser)',
      (value: string, prev: string[] | undefined) => [...(prev ?? []), value],
    )
    .option(
      '--checkpoint <file>',
      'a checkpoint line kept elsewhere (spike audit checkpoint, the syslog copy): the files must contain it',
    )
    .option('--allow-unsealed-tail', 'accept records after the last checkpoint (a live file)')
    .action(async (files: string[], opts: VerifyOptions) => {
      const protocol = await import('@spike-ts/protocol');
      const keys = [];
      let anchor: string | undefined;
      if (opts.checkpoint !== undefined) {
        anchor = (await readSmallFile(opts.checkpoint, 'the checkpoint file')).trim();
        if (anchor === '') throw usageError(`The checkpoint file ${opts.checkpoint} is empty`);
      }
      if (opts.publicKey === undefined || opts.publicKey.length === 0) {
        const key = await withNexus(io, 'superuser', ({ client }) => client.auditKey());
        keys.push(protocol.parseAuditPublicKey(key.publicKey));
        // What Nexus wrote last must be in the file: a tail cut at a checkpoint shows.
        anchor ??= key.checkpoint === '' ? undefined : key.checkpoint;
      } else {
        for (const path of opts.publicKey) {
          try {
            keys.push(protocol.parseAuditPublicKey(await readSmallFile(path, 'the public key file')));
          } catch (err) {
            if (err instanceof CliError) throw err;
            throw invalidInput(`The public key file ${path} is ${(err as Error).message}`);
          }
        }
      }
      const verifier = protocol.createAuditChainVerifier({
        publicKeys: keys,
        ...(anchor === undefined ? {} : { anchor }),
        ...(opts.allowUnsealedTail === true ? { allowUnsealedTail: true } : {}),
      });
      for (const file of files) if (!(await feedFile(verifier, file))) break;
      const result = verifier.finish();
      if (!result.ok && result.finding !== undefined) {
        const f = result.finding;
        throw new CliError(`audit verification FAILED at ${f.file}:${String(f.line)}: ${f.reason}`);
      }
      const last = result.lastCheckpoint;
      io.stdout.write(
        `audit trail verified: ${String(result.lines)} lines, ${String(result.checkpoints)} signed checkpoints` +
          (last === undefined
            ? ''
            : `, last at ${last.file}:${String(last.line)} (seq ${String(last.seq)})`) +
          (result.unsealed > 0
            ? `; ${String(result.unsealed)} line(s) after it not yet covered by a signature`
            : '') +
          '\n',
      );
    });
}
