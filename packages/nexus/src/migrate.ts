/**
 * `spike-nexus migrate`: applies the PostgreSQL schema migrations out of band, as the DDL role,
 * so Nexus itself can run with `SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION=true` and a runtime role that
 * may not change the schema. Reads the same `SPIKE_NEXUS_POSTGRES_*` settings as Nexus (set them
 * to the DDL role for this run) and `SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT` /
 * `SPIKE_NEXUS_DB_OPERATION_TIMEOUT`. `--grant-runtime ROLE` also gives ROLE exactly the grants
 * a running Nexus needs, in the same transaction.
 */
import {
  SettingsReader,
  SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT,
  SPIKE_NEXUS_DB_OPERATION_TIMEOUT,
  type Env,
} from '@spike-ts/settings';
import {
  latestPgSchemaVersion,
  PG_SCHEMA,
  runPostgresMigrations,
  type MigrationResult,
} from '@spike-ts/store';
import { readPostgres } from './config.ts';
import { postgresConnection, postgresStartError } from './store-factory.ts';

export const MIGRATE_HELP = `Usage: spike-nexus migrate [--grant-runtime ROLE]

Applies the PostgreSQL schema migrations of this build (schema "${PG_SCHEMA}", version
${String(latestPgSchemaVersion())}) to the database SPIKE_NEXUS_POSTGRES_URL names, as the role in that URL
(the DDL role: it must own the database or may create in it). Safe to run again and from several
hosts at once: missing migrations are applied once, in one transaction.

  --grant-runtime ROLE   also grant ROLE exactly what a running Nexus needs (docs/operations.md)

Reads SPIKE_NEXUS_POSTGRES_URL, SPIKE_NEXUS_POSTGRES_PASSWORD_FILE, SPIKE_NEXUS_POSTGRES_SSLMODE,
SPIKE_NEXUS_POSTGRES_SSLROOTCERT, SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT and
SPIKE_NEXUS_DB_OPERATION_TIMEOUT.

Exit codes: 0 the schema is current, 1 failure, 2 bad arguments or environment.
`;

export interface MigrateIo {
  readonly env: Env;
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const ROLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Runs `spike-nexus migrate <args>`; resolves with the exit code. */
export async function runMigrateCommand(args: readonly string[], io: MigrateIo): Promise<number> {
  let grantRuntimeRole: string | undefined;
  const rest = [...args];
  while (rest.length > 0) {
    const arg = rest.shift() as string;
    if (arg === '--help' || arg === '-h') {
      io.stdout(MIGRATE_HELP);
      return 0;
    }
    if (arg === '--grant-runtime' && grantRuntimeRole === undefined) {
      const role = rest.shift();
      if (role === undefined || !ROLE.test(role)) {
        io.stderr(
          'spike-nexus migrate: --grant-runtime needs a role name (letters, digits and _, at most 63)\n',
        );
        return 2;
      }
      grantRuntimeRole = role;
      continue;
    }
    const shown = JSON.stringify(arg.length > 80 ? arg.slice(0, 77) + '...' : arg);
    io.stderr(`spike-nexus migrate: unexpected argument ${shown}. Run 'spike-nexus migrate --help'.\n`);
    return 2;
  }

  const r = new SettingsReader(io.env);
  const pg = readPostgres(r, true, io.cwd);
  const initializationTimeoutMs = r.get(SPIKE_NEXUS_DB_INITIALIZATION_TIMEOUT);
  const operationTimeoutMs = r.get(SPIKE_NEXUS_DB_OPERATION_TIMEOUT);
  try {
    r.done();
  } catch (err) {
    io.stderr(`spike-nexus migrate: invalid configuration: ${(err as Error).message}\n`);
    return 2;
  }
  if (pg === undefined) return 2; // reported by done()
  const connection = postgresConnection(pg);
  let result: MigrationResult;
  try {
    result = await runPostgresMigrations({
      connection,
      pool: { operationTimeoutMs },
      initializationTimeoutMs,
      ...(grantRuntimeRole === undefined ? {} : { grantRuntimeRole }),
    });
  } catch (err) {
    io.stderr(`spike-nexus migrate: ${postgresStartError(err, connection, false).message}\n`);
    return 1;
  }
  const applied =
    result.applied.length === 0
      ? `already at version ${String(result.to)}, nothing to apply`
      : `migrated from version ${String(result.from)} to ${String(result.to)} (applied ${result.applied.join(', ')})`;
  const granted = grantRuntimeRole === undefined ? '' : `; runtime grants given to ${grantRuntimeRole}`;
  io.stdout(`spike-nexus migrate: schema "${PG_SCHEMA}" ${applied}${granted}\n`);
  return 0;
}
