/**
 * @module value-source
 * Where a `secret put` value comes from, so that passwords need not appear on the command line
 * (argv is visible to other users in `ps` and lands in shell history):
 *
 * - `key=-`       the value is read from standard input (a hidden prompt on a terminal; from a
 *                 pipe, everything up to EOF minus one trailing newline); at most once per command;
 * - `key=@file`   the value is the content of `file`, byte for byte;
 * - `key==text`   the value is `text` exactly, whatever it starts with (`key==-` stores `-`,
 *                 `key==@x` stores `@x`, `key===x` stores `=x`);
 * - `key=text`    the value is `text`.
 *
 * Values read from stdin or files are limited to MAX_VALUE_SOURCE_BYTES and must be UTF-8 text.
 */
import type { CliIo } from './cli-io.ts';
import { keyValuePairs, shown } from './cli-args.ts';
import { invalidInput, usageError } from './exit-code.ts';
import { promptLine, readFileLimited, readStreamLimited } from './read-input.ts';

/** Largest value read from stdin or a file (Nexus's default request body limit). */
export const MAX_VALUE_SOURCE_BYTES = 1024 * 1024;

export type ValueSource =
  { kind: 'literal'; value: string } | { kind: 'stdin' } | { kind: 'file'; path: string };

/** How one raw value (the text after the first `=`) is to be obtained. */
export function valueSource(raw: string): ValueSource {
  if (raw === '-') return { kind: 'stdin' };
  if (raw.startsWith('=')) return { kind: 'literal', value: raw.slice(1) };
  if (raw.startsWith('@')) return { kind: 'file', path: raw.slice(1) };
  return { kind: 'literal', value: raw };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function text(bytes: Buffer, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw invalidInput(`${what} is not UTF-8 text (secret values are strings).`);
  } finally {
    bytes.fill(0);
  }
}

/**
 * Parse `key=value` arguments and read the values given as `-` or `@file`. Every syntax error
 * (including a second `-`) is reported before anything is read.
 */
export async function resolveKeyValues(args: readonly string[], io: CliIo): Promise<Record<string, string>> {
  const raw = keyValuePairs(args);
  const sources = Object.entries(raw).map(([key, value]) => [key, valueSource(value)] as const);
  const fromStdin = sources.filter(([, s]) => s.kind === 'stdin').map(([k]) => `'${shown(k)}'`);
  if (fromStdin.length > 1) {
    throw usageError(
      `Only one value can be read from standard input ('-'), but keys ${fromStdin.join(', ')} ask for it. ` +
        "Read the others from files with key=@file (write key==- for a literal '-').",
    );
  }
  for (const [key, s] of sources) {
    if (s.kind === 'file' && s.path === '') {
      throw invalidInput(
        `Key '${shown(key)}': '@' must be followed by a file name (write key==@ for a literal '@').`,
      );
    }
  }
  const values: Record<string, string> = {};
  for (const [key, s] of sources) {
    let value: string;
    if (s.kind === 'literal') {
      value = s.value;
    } else if (s.kind === 'file') {
      const bytes = await readFileLimited(s.path, MAX_VALUE_SOURCE_BYTES, `the file of key '${shown(key)}'`);
      value = text(bytes, `The file '${shown(s.path)}' (key '${shown(key)}')`);
    } else {
      value = await readStdinValue(io, key);
    }
    Object.defineProperty(values, key, { value, enumerable: true, writable: true });
  }
  return values;
}

async function readStdinValue(io: CliIo, key: string): Promise<string> {
  if (io.stdin.isTTY === true) {
    return promptLine(io.stdin, io.stderr, `Value for '${shown(key)}' (input hidden): `, {
      hidden: true,
      limit: MAX_VALUE_SOURCE_BYTES,
    });
  }
  const bytes = await readStreamLimited(
    io.stdin,
    MAX_VALUE_SOURCE_BYTES,
    `Standard input (key '${shown(key)}')`,
  );
  const value = text(bytes, `Standard input (key '${shown(key)}')`);
  return value.endsWith('\r\n') ? value.slice(0, -2) : value.endsWith('\n') ? value.slice(0, -1) : value;
}
