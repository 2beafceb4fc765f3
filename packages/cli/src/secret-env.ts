/**
 * @module secret-env
 * Secrets as environment variables, for `spike run` and `spike export`: merging several secrets
 * (a later `--path` wins), checking that every key is a POSIX environment variable name, and the
 * dotenv / JSON / YAML renderings of the result.
 */
import { stringify } from 'yaml';
import { shown } from './cli-args.ts';
import { invalidInput } from './exit-code.ts';

/** POSIX: letters, digits and `_`, not starting with a digit. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type ExportFormat = 'dotenv' | 'json' | 'yaml';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['dotenv', 'json', 'yaml'];

/**
 * Merge the secrets in the order given (a key in a later secret replaces the same key from an
 * earlier one). Throws one error listing every key that is not an environment variable name.
 */
export function secretsToEnv(
  secrets: readonly { path: string; data: Record<string, string> }[],
): Map<string, string> {
  const bad: string[] = [];
  const env = new Map<string, string>();
  for (const { path, data } of secrets) {
    for (const [key, value] of Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!ENV_NAME.test(key)) bad.push(`'${shown(key)}' (in ${shown(path)})`);
      else env.set(key, value);
    }
  }
  if (bad.length > 0) {
    throw invalidInput(
      `These secret keys are not valid environment variable names: ${bad.join(', ')}. ` +
        'A name must match [A-Za-z_][A-Za-z0-9_]* (letters, digits and _, not starting with a digit); ' +
        'rename the keys, or read the secret with spike secret get.',
    );
  }
  return new Map([...env.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function parseExportFormat(value: string | undefined): ExportFormat {
  const v = (value ?? 'dotenv').trim().toLowerCase();
  if (v === 'dotenv' || v === 'env') return 'dotenv';
  if (v === 'json' || v === 'j') return 'json';
  if (v === 'yaml' || v === 'y') return 'yaml';
  throw invalidInput(`Invalid value '${shown(value ?? '')}' for --format: use dotenv, json or yaml.`);
}

/**
 * One dotenv line. A value without `'` is single-quoted (taken literally by POSIX sh and by
 * dotenv parsers); a value with `'` is double-quoted with `\`, `"`, `$` and backquote escaped,
 * as POSIX sh reads it. Newlines stay literal inside the quotes.
 */
export function dotenvLine(name: string, value: string): string {
  if (!value.includes("'")) return `${name}='${value}'`;
  return `${name}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

export function renderEnv(env: ReadonlyMap<string, string>, format: ExportFormat): string {
  if (format === 'dotenv') return [...env].map(([k, v]) => dotenvLine(k, v) + '\n').join('');
  const obj = envObject(env);
  if (format === 'json') return JSON.stringify(obj, null, 2) + '\n';
  const text = env.size === 0 ? '{}\n' : stringify(obj, { lineWidth: 0 });
  return text.endsWith('\n') ? text : text + '\n';
}

/** A plain object of the variables (`__proto__` is a valid name: defined, never assigned). */
export function envObject(
  env: ReadonlyMap<string, string>,
  base: Record<string, string> = {},
): Record<string, string> {
  const obj: Record<string, string> = { ...base };
  for (const [k, v] of env)
    Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  return obj;
}
