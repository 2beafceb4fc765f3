/**
 * @module cipher-command
 * `spike cipher encrypt|decrypt` (encryption as a service).
 *
 * Stream mode (default): input bytes from `--file` or stdin, output `0x01 ‖ nonce ‖ ciphertext`
 * to `--out` or stdout, and back. JSON mode (`--plaintext <base64>` or `--json`): encrypt prints
 * a JSON document `{"version","nonce","ciphertext"}` (base64 fields) — unlike SPIKE 0.8.2, which
 * dropped the nonce (#256) — and decrypt reads that document back from `--file`/stdin, or takes
 * `--version/--nonce/--ciphertext`.
 */
import type { Command } from 'commander';
import { CIPHER_NONCE_SIZE } from '@spike-ts/protocol';
import type { CliIo } from '../cli-io.ts';
import { shown } from '../cli-args.ts';
import { invalidInput } from '../exit-code.ts';
import { withNexus } from '../nexus-session.ts';
import { readFileLimited, readStreamLimited } from '../read-input.ts';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const DECRYPT_FAILED =
  'Decryption failed: the ciphertext, nonce or version is wrong or was altered, ' +
  'or it was encrypted under another SPIKE root key.';

function base64Arg(value: string, option: string): Uint8Array {
  const v = value.trim();
  if (!BASE64.test(v)) throw invalidInput(`Invalid ${option}: expected standard base64.`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

/** Write the result to --out or stdout (the writer is loaded with the first cipher command). */
async function writeOutput(io: CliIo, out: string | undefined, bytes: Uint8Array): Promise<void> {
  const writer = await import('../write-output.ts');
  await writer.writeOutput(io, out, bytes);
}

async function readInput(io: CliIo, file: string | undefined): Promise<Buffer> {
  // The SDK is loaded on first use (it brings the Workload API client), not with the command tree.
  const { MAX_CIPHER_INPUT_BYTES } = await import('@spike-ts/sdk');
  return file === undefined
    ? readStreamLimited(io.stdin, MAX_CIPHER_INPUT_BYTES, 'Standard input')
    : readFileLimited(file, MAX_CIPHER_INPUT_BYTES, '--file');
}

interface EncryptedDocument {
  version: number;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

/** Parse the JSON document written by `cipher encrypt` in JSON mode. */
export function parseEncryptedDocument(text: string, where: string): EncryptedDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalidInput(`${where} is not valid JSON.`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw invalidInput(`${where} must be a JSON object with version, nonce and ciphertext.`);
  }
  const o = doc as Record<string, unknown>;
  if (typeof o['version'] !== 'number') throw invalidInput(`${where}: 'version' must be a number.`);
  if (typeof o['nonce'] !== 'string') throw invalidInput(`${where}: 'nonce' must be a base64 string.`);
  if (typeof o['ciphertext'] !== 'string')
    throw invalidInput(`${where}: 'ciphertext' must be a base64 string.`);
  return checkDoc({
    version: o['version'],
    nonce: base64Arg(o['nonce'], `'nonce' in ${where}`),
    ciphertext: base64Arg(o['ciphertext'], `'ciphertext' in ${where}`),
  });
}

function checkDoc(doc: EncryptedDocument): EncryptedDocument {
  if (!Number.isInteger(doc.version) || doc.version < 0 || doc.version > 255) {
    throw invalidInput('Invalid --version: expected an integer from 0 to 255.');
  }
  if (doc.nonce.byteLength !== CIPHER_NONCE_SIZE) {
    throw invalidInput(`Invalid --nonce: it must decode to exactly ${CIPHER_NONCE_SIZE} bytes.`);
  }
  return doc;
}

/** True when the input looks like a JSON document rather than a binary `0x01…` frame. */
function looksLikeJson(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b; // '{'
  }
  return false;
}

export function registerCipherCommands(program: Command, io: CliIo): void {
  const cipher = program.command('cipher').description('encrypt and decrypt data with SPIKE Nexus');

  cipher
    .command('encrypt')
    .description('encrypt data (stream mode, or JSON mode with --plaintext/--json)')
    .option('-f, --file <path>', 'input file (default: stdin)')
    .option('-o, --out <path>', 'output file (default: stdout)')
    .option('--plaintext <base64>', 'plaintext as base64; switches to JSON mode')
    .option('--json', 'JSON mode: print {"version","nonce","ciphertext"} for the input')
    .option('--algorithm <name>', 'accepted for compatibility; the server uses AES-256-GCM')
    .action(async (opts: { file?: string; out?: string; plaintext?: string; json?: boolean }) => {
      if (opts.plaintext !== undefined && opts.file !== undefined) {
        throw invalidInput('Use either --plaintext or --file, not both.');
      }
      await withNexus(io, 'superuser', async ({ client }) => {
        const input =
          opts.plaintext !== undefined
            ? base64Arg(opts.plaintext, '--plaintext')
            : await readInput(io, opts.file);
        try {
          if (opts.plaintext !== undefined || opts.json === true) {
            const res = await client.encrypt(input);
            const doc = {
              version: res.version,
              nonce: Buffer.from(res.nonce).toString('base64'),
              ciphertext: Buffer.from(res.ciphertext).toString('base64'),
            };
            await writeOutput(io, opts.out, Buffer.from(JSON.stringify(doc) + '\n', 'utf8'));
          } else {
            await writeOutput(io, opts.out, await client.encryptStream(input));
          }
        } finally {
          input.fill(0);
        }
      });
    });

  cipher
    .command('decrypt')
    .description('decrypt data produced by "spike cipher encrypt" (stream or JSON document)')
    .option('-f, --file <path>', 'input file: binary frame or JSON document (default: stdin)')
    .option('-o, --out <path>', 'output file for the plaintext (default: stdout)')
    .option('--version <n>', 'JSON mode: cipher version (default 1)')
    .option('--nonce <base64>', 'JSON mode: nonce')
    .option('--ciphertext <base64>', 'JSON mode: ciphertext')
    .option('--algorithm <name>', 'accepted for compatibility; the server uses AES-256-GCM')
    .action(
      async (opts: {
        file?: string;
        out?: string;
        version?: string;
        nonce?: string;
        ciphertext?: string;
      }) => {
        const flagMode =
          opts.version !== undefined || opts.nonce !== undefined || opts.ciphertext !== undefined;
        let flagged: EncryptedDocument | undefined;
        if (flagMode) {
          if (opts.file !== undefined)
            throw invalidInput('Use either --file or --version/--nonce/--ciphertext, not both.');
          if (opts.nonce === undefined || opts.ciphertext === undefined) {
            throw invalidInput('JSON mode needs both --nonce and --ciphertext (and optionally --version).');
          }
          const version = opts.version === undefined ? 1 : Number(opts.version.trim());
          if (opts.version !== undefined && !/^[0-9]{1,3}$/.test(opts.version.trim())) {
            throw invalidInput(
              `Invalid value '${shown(opts.version)}' for --version: expected an integer from 0 to 255.`,
            );
          }
          flagged = checkDoc({
            version,
            nonce: base64Arg(opts.nonce, '--nonce'),
            ciphertext: base64Arg(opts.ciphertext, '--ciphertext'),
          });
        }
        await withNexus(
          io,
          'superuser',
          async ({ client }) => {
            let doc = flagged;
            let frame: Buffer | undefined;
            if (doc === undefined) {
              const input = await readInput(io, opts.file);
              if (looksLikeJson(input)) {
                doc = parseEncryptedDocument(
                  input.toString('utf8'),
                  opts.file === undefined ? 'Standard input' : `'${shown(opts.file)}'`,
                );
              } else {
                frame = input;
              }
            }
            const plaintext =
              doc !== undefined
                ? await client.decrypt(doc)
                : await client.decryptStream(frame ?? Buffer.alloc(0));
            try {
              await writeOutput(io, opts.out, plaintext);
            } finally {
              plaintext.fill(0);
            }
          },
          {
            internal: DECRYPT_FAILED,
            badRequest: `${DECRYPT_FAILED} (SPIKE Nexus rejected the input as invalid.)`,
          },
        );
      },
    );
}
