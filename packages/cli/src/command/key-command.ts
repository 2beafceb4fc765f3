/**
 * @module key-command
 * Named keys held by SPIKE-TS Nexus (ours): `spike key create|rotate|retire|list|public|decrypt`,
 * `spike sign` and `spike verify`. Private keys never leave Nexus; these commands send the data
 * to sign, verify or decrypt and print what Nexus answers.
 */
import type { Command } from 'commander';
import { KEY_ALGORITHMS } from '@spike-ts/protocol';
import type { CliIo } from '../cli-io.ts';
import { shown } from '../cli-args.ts';
import { CliError, ExitCode, invalidInput } from '../exit-code.ts';
import { withNexus } from '../nexus-session.ts';
import { readFileLimited, readStreamLimited } from '../read-input.ts';

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;

function keyName(name: string): string {
  if (!KEY_NAME.test(name) || name.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw invalidInput(
      `Invalid key name '${shown(name)}': use 1..200 of A-Z a-z 0-9 . _ - /, starting with a letter or digit.`,
    );
  }
  return name;
}

async function readInput(io: CliIo, file: string | undefined, what: string): Promise<Buffer> {
  const { MAX_CIPHER_INPUT_BYTES } = await import('@spike-ts/sdk');
  return file === undefined
    ? readStreamLimited(io.stdin, MAX_CIPHER_INPUT_BYTES, `Standard input (${what})`)
    : readFileLimited(file, MAX_CIPHER_INPUT_BYTES, what);
}

async function writeOutput(io: CliIo, out: string | undefined, bytes: Uint8Array): Promise<void> {
  const writer = await import('../write-output.ts');
  await writer.writeOutput(io, out, bytes);
}

const messages = (name: string, badRequest: string) => ({
  notFound: `Key '${shown(name)}' not found (see 'spike key list').`,
  badRequest,
});

export function registerKeyCommands(program: Command, io: CliIo): void {
  const key = program
    .command('key')
    .description('named signing and backup keys kept inside SPIKE Nexus (private keys never leave it)');

  key
    .command('create')
    .description('generate a key inside Nexus')
    .argument('<name>', 'key name, e.g. release/signing')
    .requiredOption('-a, --algorithm <algorithm>', `one of: ${KEY_ALGORITHMS.join(', ')}`)
    .option('--user-id <uid>', 'OpenPGP keys: the user ID, e.g. "Release <release@example.org>"')
    .action(async (name: string, opts: { algorithm: string; userId?: string }) => {
      keyName(name);
      if (!(KEY_ALGORITHMS as readonly string[]).includes(opts.algorithm)) {
        throw invalidInput(
          `Unknown algorithm '${shown(opts.algorithm)}'. Use one of: ${KEY_ALGORITHMS.join(', ')}.`,
        );
      }
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const version = await client.keys.create(
            name,
            opts.algorithm,
            opts.userId === undefined ? {} : { userId: opts.userId },
          );
          io.stdout.write(`Key '${name}' created (${opts.algorithm}, version ${version}).\n`);
        },
        {
          badRequest: `Key '${shown(name)}' was not created: it exists already (use 'spike key rotate'), or --user-id was given for a key that is not OpenPGP.`,
        },
      );
    });

  key
    .command('rotate')
    .description(
      'generate a new version; signing uses it from now on, older versions still verify and decrypt',
    )
    .argument('<name>', 'key name')
    .action(async (name: string) => {
      keyName(name);
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const version = await client.keys.rotate(name);
          io.stdout.write(`Key '${name}' rotated: version ${version} is now the newest.\n`);
        },
        messages(name, 'Nexus refused to rotate the key.'),
      );
    });

  key
    .command('retire')
    .description('retire versions: they no longer sign, verify or decrypt')
    .argument('<name>', 'key name')
    .requiredOption('--versions <list>', 'comma-separated version numbers, e.g. 1,2')
    .action(async (name: string, opts: { versions: string }) => {
      keyName(name);
      const versions = opts.versions.split(',').map((s) => {
        const n = Number(s.trim());
        if (!Number.isSafeInteger(n) || n < 1)
          throw invalidInput(`Invalid --versions '${shown(opts.versions)}'.`);
        return n;
      });
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          await client.keys.retire(name, versions);
          io.stdout.write(`Key '${name}': retired version(s) ${versions.join(', ')}.\n`);
        },
        {
          notFound: `Key '${shown(name)}' or one of the versions ${versions.join(', ')} does not exist.`,
          badRequest: 'Nexus refused to retire the versions.',
        },
      );
    });

  key
    .command('list')
    .description('list the keys')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withNexus(io, 'superuser', async ({ client }) => {
        const keys = await client.keys.list();
        if (opts.json === true) {
          io.stdout.write(JSON.stringify(keys, null, 2) + '\n');
          return;
        }
        if (keys.length === 0) {
          io.stdout.write('No keys.\n');
          return;
        }
        for (const k of keys)
          io.stdout.write(`${k.name}\t${k.algorithm}\t${k.purpose}\tv${k.latestVersion}\n`);
      });
    });

  key
    .command('public')
    .description('print a public key (never the private key): PEM, JWK or armored OpenPGP')
    .argument('<name>', 'key name')
    .option('--format <format>', 'pem, jwk, armored, or json (every version and field)', '')
    .option('--version <n>', 'the version (default: the newest)')
    .option('-o, --out <path>', 'output file (default: stdout)')
    .action(async (name: string, opts: { format: string; version?: string; out?: string }) => {
      keyName(name);
      if (!['', 'pem', 'jwk', 'armored', 'json'].includes(opts.format)) {
        throw invalidInput(`Unknown --format '${shown(opts.format)}': use pem, jwk, armored or json.`);
      }
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const info = await client.keys.get(name);
          if (opts.format === 'json') {
            await writeOutput(io, opts.out, Buffer.from(JSON.stringify(info, null, 2) + '\n'));
            return;
          }
          const wanted = opts.version === undefined ? undefined : Number(opts.version);
          const v =
            wanted === undefined ? info.versions.at(-1) : info.versions.find((x) => x.version === wanted);
          if (v === undefined) {
            throw new CliError(
              `Key '${name}' has no version ${shown(opts.version ?? '')}.`,
              ExitCode.NotFound,
            );
          }
          const format = opts.format === '' ? (v.publicKeyArmored === null ? 'pem' : 'armored') : opts.format;
          const text =
            format === 'pem'
              ? v.publicKeyPem
              : format === 'armored'
                ? v.publicKeyArmored
                : JSON.stringify(v.publicKeyJwk);
          if (text === null || text === 'null') {
            throw invalidInput(
              `Key '${name}' (${info.algorithm}) has no ${format} form: use ${v.publicKeyArmored === null ? 'pem or jwk' : 'armored'}.`,
            );
          }
          await writeOutput(io, opts.out, Buffer.from(text.endsWith('\n') ? text : text + '\n'));
        },
        messages(name, 'Nexus refused the request.'),
      );
    });

  key
    .command('decrypt')
    .description(
      'decrypt inside Nexus with a backup key (RSA-OAEP: binary ciphertext; OpenPGP: armored or binary message)',
    )
    .argument('<name>', 'key name')
    .option('-f, --file <path>', 'ciphertext file (default: stdin)')
    .option('-o, --out <path>', 'output file for the plaintext (default: stdout)')
    .action(async (name: string, opts: { file?: string; out?: string }) => {
      keyName(name);
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const input = await readInput(io, opts.file, '--file');
          const text = input.toString('latin1').trimStart();
          const ciphertext = text.startsWith('-----BEGIN PGP MESSAGE-----') ? text : input.toString('base64');
          const { plaintext } = await client.keys.decrypt(name, ciphertext);
          try {
            await writeOutput(io, opts.out, plaintext);
          } finally {
            plaintext.fill(0);
          }
        },
        {
          ...messages(
            name,
            `Decryption failed: key '${shown(name)}' is not a backup key, the ciphertext is malformed or too large, ` +
              'or it was not made for a version of this key that is not retired.',
          ),
          approval: { operation: 'decrypt', target: name },
        },
      );
    });

  program
    .command('sign')
    .description('sign data with a named key in Nexus (newest version)')
    .argument('<name>', 'key name')
    .option('-f, --file <path>', 'data to sign (default: stdin)')
    .option('-o, --out <path>', 'signature file (default: stdout)')
    .option('--binary', 'write the raw signature bytes instead of base64 (not for OpenPGP keys)')
    .action(async (name: string, opts: { file?: string; out?: string; binary?: boolean }) => {
      keyName(name);
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const data = await readInput(io, opts.file, '--file');
          const { signature } = await client.keys.sign(name, data);
          const armored = signature.startsWith('-----BEGIN PGP SIGNATURE-----');
          if (opts.binary === true && armored)
            throw invalidInput('--binary: OpenPGP signatures are written armored.');
          const out =
            opts.binary === true
              ? Buffer.from(signature, 'base64')
              : Buffer.from(armored ? signature : signature + '\n');
          await writeOutput(io, opts.out, out);
        },
        {
          ...messages(
            name,
            `Cannot sign with key '${shown(name)}': it is a backup (decryption) key, its newest version is retired ` +
              "(run 'spike key rotate'), or the data is larger than Nexus's cipher size limit.",
          ),
          approval: { operation: 'sign', target: name },
        },
      );
    });

  program
    .command('verify')
    .description(
      'verify a signature with a named key in Nexus (any version not retired); exit 0 only when valid',
    )
    .argument('<name>', 'key name')
    .requiredOption('-s, --signature <path>', 'signature file (base64, raw bytes, or armored OpenPGP)')
    .option('-f, --file <path>', 'the signed data (default: stdin)')
    .action(async (name: string, opts: { signature: string; file?: string }) => {
      keyName(name);
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const sigBytes = await readFileLimited(opts.signature, 1024 * 1024, '--signature');
          const sigText = sigBytes.toString('latin1').trim();
          const signature =
            sigText.startsWith('-----BEGIN PGP SIGNATURE-----') || /^[A-Za-z0-9+/]+={0,2}$/.test(sigText)
              ? sigText
              : sigBytes.toString('base64');
          const data = await readInput(io, opts.file, '--file');
          const { valid, version } = await client.keys.verify(name, data, signature);
          if (!valid)
            throw new CliError(
              `Signature NOT valid for key '${name}' (no version that is not retired matches).`,
            );
          io.stdout.write(`Signature valid (key '${name}', version ${version}).\n`);
        },
        messages(
          name,
          `Cannot verify with key '${shown(name)}': it is a backup key, or the signature is malformed.`,
        ),
      );
    });
}
