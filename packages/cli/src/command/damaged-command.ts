/**
 * @module damaged-command
 * `spike operator damaged list|remove` (SPIKE-TS Nexus only; Pilot superuser): list the store's
 * damaged rows, and remove one on explicit request. A damaged row is one Nexus cannot read with
 * the right root key (edited, swapped, copied or re-keyed in the database file, or version rows
 * whose secret row was deleted), or a version row of a readable secret that does not open, does
 * not match its secret, or is missing; it is not served, and a damaged policy grants nothing.
 */
import type { Command } from 'commander';
import type { DamagedRowInfo } from '@spike-ts/sdk';
import type { CliIo } from '../cli-io.ts';
import { shown } from '../cli-args.ts';
import { invalidInput } from '../exit-code.ts';
import { withNexus } from '../nexus-session.ts';
import { FORMAT_OPTION_HELP, parseOutputFormat, renderDocument } from '../output-format.ts';
import { confirm } from '../read-input.ts';

const ID_HEX = /^[0-9a-f]{64}$/;

/** Most names a warning spells out. */
const MAX_NAMES_SHOWN = 10;

/**
 * One line for stderr after a listing that left damaged rows out (nothing when there are none),
 * naming the ones Nexus could tell.
 */
export function damagedWarning(
  count: number,
  what: 'secret' | 'policy',
  names: readonly string[] = [],
): string {
  if (count === 0) return '';
  const effect = what === 'policy' ? 'they grant nothing and are not listed' : 'they are not listed';
  const shownNames = names.slice(0, MAX_NAMES_SHOWN).map((n) => `'${shown(n)}'`);
  if (names.length > MAX_NAMES_SHOWN) shownNames.push(`and ${String(names.length - MAX_NAMES_SHOWN)} more`);
  const named = shownNames.length === 0 ? '' : ` Among them: ${shownNames.join(', ')}.`;
  return (
    `Warning: ${String(count)} damaged ${what} row(s) could not be read (${effect}).${named} ` +
    "Run 'spike operator damaged list' and see the operations guide.\n"
  );
}

function describeRow(r: DamagedRowInfo): string {
  const version = r.version === undefined ? '-' : String(r.version);
  return `${r.table}  ${r.id}  ${version}  ${r.kind}  ${r.name === undefined ? '(name unknown)' : `'${shown(r.name)}'`}`;
}

const TABLES = ['policies', 'secrets', 'secret_versions'] as const;
type Table = (typeof TABLES)[number];

/** What a removal does, for the confirmation question. */
function removalWhat(table: Table): string {
  if (table === 'secrets') return 'damaged secret row and its version rows';
  if (table === 'policies') return 'damaged policy row';
  return 'damaged version row (the version is taken out of its secret)';
}

export function registerDamagedCommands(operator: Command, io: CliIo): void {
  const damaged = operator
    .command('damaged')
    .description('list and remove damaged store rows (SPIKE-TS Nexus; needs the Pilot superuser role)');

  damaged
    .command('list')
    .description('list the rows Nexus cannot read (they are not served; damaged policies grant nothing)')
    .option('-f, --format <format>', FORMAT_OPTION_HELP, 'human')
    .action(async (opts: { format?: string }) => {
      const format = parseOutputFormat(opts.format);
      await withNexus(io, 'superuser', async ({ client }) => {
        const rows = await client.listDamagedRows();
        if (format !== 'human') {
          io.stdout.write(renderDocument(rows, format));
        } else if (rows.length === 0) {
          io.stderr.write('No damaged rows.\n');
        } else {
          io.stdout.write(
            'TABLE  ID  VERSION  KIND  NAME\n' + rows.map((r) => describeRow(r) + '\n').join(''),
          );
          io.stderr.write(
            "Remove one with 'spike operator damaged remove <table> <id> [<version>]' once it is understood " +
              '(keep a copy of the database file first; see the operations guide).\n',
          );
        }
      });
    });

  damaged
    .command('remove')
    .description(
      'remove one damaged row (asks for confirmation unless --yes); a readable row is never removed',
    )
    .argument('<table>', "'policies', 'secrets' or 'secret_versions'")
    .argument('<id>', 'the row id from `spike operator damaged list` (64 hex digits)')
    .argument('[version]', "for 'secret_versions': the version shown by `spike operator damaged list`")
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (tableArg: string, id: string, versionArg: string | undefined, opts: { yes?: boolean }) => {
      if (!(TABLES as readonly string[]).includes(tableArg)) {
        throw invalidInput("<table> must be 'policies', 'secrets' or 'secret_versions'.");
      }
      const table = tableArg as Table;
      if (!ID_HEX.test(id)) {
        throw invalidInput('<id> must be the 64 hex digits shown by `spike operator damaged list`.');
      }
      let version: number | undefined;
      if (table === 'secret_versions') {
        if (versionArg === undefined || !/^[1-9][0-9]{0,15}$/.test(versionArg)) {
          throw invalidInput(
            "<version> is needed for 'secret_versions': the version shown by `spike operator damaged list`.",
          );
        }
        version = Number(versionArg);
      } else if (versionArg !== undefined) {
        throw invalidInput(`A ${table} row has no version; give only <table> and <id>.`);
      }
      const row =
        version === undefined ? `${table} row ${id}` : `${table} row ${id} version ${String(version)}`;
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          if (opts.yes !== true) {
            if (io.stdin.isTTY !== true) {
              throw invalidInput(
                'Refusing to ask for confirmation: standard input is not a terminal. ' +
                  `Re-run with --yes to remove the damaged ${row}.`,
              );
            }
            const at = version === undefined ? id : `${id} version ${String(version)}`;
            const question = `Remove the ${removalWhat(table)} ${at}? This cannot be undone.`;
            if (!(await confirm(io.stdin, io.stderr, question))) {
              io.stderr.write('Cancelled; nothing was removed.\n');
              return;
            }
          }
          await client.removeDamagedRow(table, id, version);
          io.stderr.write(`Damaged ${row} removed.\n`);
        },
        {
          notFound:
            `No damaged ${row}: it is not damaged (readable rows are never removed here), ` +
            (table === 'secret_versions'
              ? "its secret's own row is missing or damaged (remove the 'secrets' row instead), "
              : '') +
            "or it is gone already. Check 'spike operator damaged list'.",
        },
      );
    });
}
