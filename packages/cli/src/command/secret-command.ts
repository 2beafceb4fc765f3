/**
 * @module secret-command
 * `spike secret put|get|list|delete|undelete|metadata get`.
 */
import type { Command } from 'commander';
import type { SecretMetadataInfo, SpikeClient } from '@spike-ts/sdk';
import type { CliIo } from '../cli-io.ts';
import { secretPathArg, shown, versionOption, versionsOption } from '../cli-args.ts';
import { CliError, ExitCode } from '../exit-code.ts';
import { withNexus } from '../nexus-session.ts';
import { FORMAT_OPTION_HELP, parseOutputFormat, renderDocument } from '../output-format.ts';
import { damagedWarning } from './damaged-command.ts';
import { resolveKeyValues } from '../value-source.ts';

interface FormatOpts {
  format?: string;
}

export function registerSecretCommands(program: Command, io: CliIo): void {
  const secret = program.command('secret').description('manage secrets');
  const notFound = (path: string, version?: number) =>
    version === undefined || version === 0
      ? `Secret '${shown(path)}' not found.`
      : `Secret '${shown(path)}' has no version ${version} (never written, pruned or deleted).`;

  secret
    .command('put')
    .description('store a new version of a secret')
    .argument('<path>', 'secret path, e.g. tenants/demo/db/creds')
    .argument(
      '<key=value...>',
      'key=value pairs; key=- reads stdin, key=@file reads a file, key==v is literal',
    )
    .action(async (path: string, pairs: string[]) => {
      const p = secretPathArg(path);
      const values = await resolveKeyValues(pairs, io);
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          await client.putSecret(p, values);
          io.stderr.write(`OK: secret '${shown(p)}' stored.\n`);
        },
        { approval: { operation: 'write', target: p } },
      );
    });

  secret
    .command('get')
    .description('read a secret (all keys, or one key)')
    .argument('<path>', 'secret path')
    .argument('[key]', 'print only this key')
    .option('-v, --version <n>', 'version to read (0 = current)')
    .option('-f, --format <format>', FORMAT_OPTION_HELP, 'human')
    .action(async (path: string, key: string | undefined, opts: FormatOpts & { version?: string }) => {
      const format = parseOutputFormat(opts.format);
      const version = versionOption(opts.version);
      const p = secretPathArg(path);
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const data = await client.getSecret(p, version);
          if (key !== undefined) {
            if (!Object.hasOwn(data, key)) {
              throw new CliError(`Key '${shown(key)}' not found in secret '${shown(p)}'.`, ExitCode.NotFound);
            }
            const value = data[key] ?? '';
            io.stdout.write(format === 'human' ? `${value}\n` : renderDocument(value, format));
            return;
          }
          const sorted = Object.fromEntries(
            Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
          );
          if (format !== 'human') {
            io.stdout.write(renderDocument(sorted, format));
            return;
          }
          for (const [k, v] of Object.entries(sorted)) io.stdout.write(`${k}: ${v}\n`);
        },
        { notFound: notFound(path, version), approval: { operation: 'read', target: p } },
      );
    });

  secret
    .command('list')
    .description('list all secret paths')
    .option('-f, --format <format>', FORMAT_OPTION_HELP, 'human')
    .action(async (opts: FormatOpts) => {
      const format = parseOutputFormat(opts.format);
      await withNexus(io, 'superuser', async ({ client }) => {
        const { keys, damagedRows, damagedNames } = await client.listSecretsReport();
        io.stderr.write(damagedWarning(damagedRows, 'secret', damagedNames));
        if (format !== 'human') {
          io.stdout.write(renderDocument(keys, format));
        } else if (keys.length === 0) {
          io.stderr.write('No secrets found.\n');
        } else {
          for (const k of keys) io.stdout.write(`- ${k}\n`);
        }
      });
    });

  for (const verb of ['delete', 'undelete'] as const) {
    secret
      .command(verb)
      .description(
        verb === 'delete'
          ? 'soft-delete versions of a secret (default: the current version)'
          : 'restore deleted versions (default: the current one, or the newest deleted if all are deleted)',
      )
      .argument('<path>', 'secret path')
      .option('-v, --versions <list>', 'comma-separated versions, e.g. 1,2,3 (0 = current)')
      .action(async (path: string, opts: { versions?: string }) => {
        const versions = versionsOption(opts.versions);
        const p = secretPathArg(path);
        await withNexus(
          io,
          'superuser',
          async ({ client }) => {
            if (verb === 'delete') await client.deleteSecret(p, versions);
            else {
              try {
                await client.undeleteSecret(p, versions);
              } catch (err) {
                if ((err as { code?: unknown }).code !== 'api_not_found') throw err;
                throw new CliError(await undeleteNotFound(client, p, versions), ExitCode.NotFound);
              }
            }
            const which = versions.length === 0 ? 'default version' : `versions ${versions.join(',')}`;
            io.stderr.write(`OK: secret '${shown(p)}' ${verb}d (${which}).\n`);
          },
          {
            notFound:
              verb === 'delete'
                ? `Secret '${shown(path)}' not found.`
                : `Secret '${shown(path)}' not found, or it has no such deleted version to undelete.`,
            approval: { operation: 'write', target: p },
          },
        );
      });
  }

  const metadata = secret.command('metadata').description('secret metadata');
  metadata
    .command('get')
    .description('show version metadata of a secret')
    .argument('<path>', 'secret path')
    .option('-v, --version <n>', 'version that must exist (0 = current)')
    .option('-f, --format <format>', FORMAT_OPTION_HELP, 'human')
    .action(async (path: string, opts: FormatOpts & { version?: string }) => {
      const format = parseOutputFormat(opts.format);
      const version = versionOption(opts.version);
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const meta = await client.getSecretMetadata(secretPathArg(path), version);
          io.stdout.write(
            format === 'human' ? humanMetadata(meta) : renderDocument(metadataDocument(meta, format), format),
          );
        },
        { notFound: notFound(path, version) },
      );
    });
}

/**
 * `secret metadata get -f json|yaml`: every key SPIKE's CLI prints, so scripts written against it
 * keep working. Its JSON has the wire names (`currentVersion`, `createdTime`, ...); its YAML has Go's
 * lowercased field names (`currentversion`, `createdtime`, ...), `versions` before `metadata`, and
 * the versions keyed by integers (a Map, so the keys are not rendered as quoted strings).
 */
export function metadataDocument(meta: SecretMetadataInfo, format: 'json' | 'yaml'): unknown {
  if (format === 'json') return meta;
  const versions = new Map<number | string, Record<string, unknown>>();
  const keys = Object.keys(meta.versions)
    .map((k) => (/^(0|[1-9]\d{0,15})$/.test(k) ? Number(k) : k))
    .sort((a, b) =>
      typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
    );
  for (const key of keys) {
    const v = meta.versions[String(key)];
    if (v === undefined) continue;
    versions.set(key, { createdtime: v.createdTime, version: v.version, deletedtime: v.deletedTime });
  }
  const m = meta.metadata;
  return {
    versions,
    metadata: {
      currentversion: m.currentVersion,
      oldestversion: m.oldestVersion,
      createdtime: m.createdTime,
      updatedtime: m.updatedTime,
      maxversions: m.maxVersions,
    },
  };
}

/**
 * Why an undelete found nothing to do, naming the version(s) it tried and the deleted versions
 * there are (read from the metadata), with the `-v` to use.
 */
export async function undeleteNotFound(
  client: SpikeClient,
  path: string,
  versions: readonly number[],
): Promise<string> {
  let meta: SecretMetadataInfo | undefined;
  try {
    meta = await client.getSecretMetadata(path);
  } catch {
    meta = undefined; // no such secret, or every version deleted: say what was tried
  }
  const current = meta?.metadata.currentVersion ?? 0;
  const tried = [...new Set(versions.length === 0 ? [0] : versions)]
    .map((v) =>
      v !== 0
        ? `version ${String(v)}`
        : current > 0
          ? `the current version (${String(current)})`
          : 'the current version',
    )
    .join(', ');
  if (meta === undefined) {
    return (
      `Secret '${shown(path)}' not found, or it has no deleted version to undelete (tried ${tried}). ` +
      `Check the path with 'spike secret list' and name the version with -v, e.g. -v 2.`
    );
  }
  const deleted = Object.values(meta.versions)
    .filter((v) => v.deletedTime !== null)
    .map((v) => v.version)
    .sort((x, y) => x - y);
  const advice =
    deleted.length === 0
      ? 'No version of it is deleted.'
      : `Deleted versions: ${deleted.join(', ')}; undelete one with -v, e.g. ` +
        `'spike secret undelete ${shown(path)} -v ${String(deleted.at(-1))}'.`;
  return `Nothing to undelete in secret '${shown(path)}' (tried ${tried}: not deleted or not kept). ${advice}`;
}

/** `2026-01-02 15:04:05 UTC` (SPIKE prints `2006-01-02 15:04:05 MST`). */
export function humanTime(value: string | null): string {
  if (value === null || value === '') return '-';
  const d = new Date(value);
  return Number.isNaN(d.getTime())
    ? value
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');
}

export function humanMetadata(meta: SecretMetadataInfo): string {
  const m = meta.metadata;
  const lines = [
    'Metadata:',
    `  Current Version : ${m.currentVersion}`,
    `  Oldest Version  : ${m.oldestVersion}`,
    `  Created         : ${humanTime(m.createdTime)}`,
    `  Last Updated    : ${humanTime(m.updatedTime)}`,
    `  Max Versions    : ${m.maxVersions}`,
    '',
    'Secret Versions:',
  ];
  const versions = Object.values(meta.versions).sort((a, b) => a.version - b.version);
  for (const v of versions) {
    lines.push(`  Version ${v.version}:`);
    lines.push(`    Created : ${humanTime(v.createdTime)}`);
    lines.push(`    Deleted : ${v.deletedTime === null ? 'no' : humanTime(v.deletedTime)}`);
  }
  return lines.join('\n') + '\n';
}
