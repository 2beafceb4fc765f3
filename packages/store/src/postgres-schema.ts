/**
 * Versioned schema of the PostgreSQL backend, in its own schema `spike`. Applied migrations are
 * rows of `spike.schema_migrations`; `migratePostgres` applies the missing ones in order, all in
 * one transaction under an advisory lock (PostgreSQL DDL is transactional): two migrators never
 * interleave, and a failure leaves the database as it was. A database whose schema is newer
 * than this build knows is refused rather than guessed at.
 *
 * Who runs DDL: `spike-nexus migrate` (the DDL role), or Nexus at start unless
 * `SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION=true`; then Nexus only checks the version
 * (`checkPostgresSchema`) and never runs DDL. The runtime role needs exactly `runtimeGrants`.
 *
 * Rules for adding a migration: append, never edit a released one; versions are 1, 2, 3, ...;
 * a migration that adds a table adds its grant to `runtimeGrants`.
 */
import type { ClientBase } from 'pg';
import { StoreSchemaError } from './store-error.ts';

/** The PostgreSQL schema (namespace) holding every table of the backend. */
export const PG_SCHEMA = 'spike';

export interface PgMigration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

const ID_CHECK = (column: string): string => `CHECK (octet_length(${column}) = 32)`;

export const PG_MIGRATIONS: readonly PgMigration[] = Object.freeze([
  {
    version: 1,
    name: 'initial schema: encrypted secrets, versions, policies, key-check value',
    statements: [
      // path_id = HMAC-SHA256(index key, path); envelope = sealed { path, metadata, kept versions }.
      // revision counts the writes of the row (for cache checks; not trusted for anything else).
      `CREATE TABLE ${PG_SCHEMA}.secrets (
         path_id bytea PRIMARY KEY ${ID_CHECK('path_id')},
         envelope bytea NOT NULL,
         revision bigint NOT NULL DEFAULT 1
       )`,
      // envelope = sealed { data, createdTime, deletedTime } of one version.
      `CREATE TABLE ${PG_SCHEMA}.secret_versions (
         path_id bytea NOT NULL ${ID_CHECK('path_id')},
         version bigint NOT NULL CHECK (version > 0),
         envelope bytea NOT NULL,
         PRIMARY KEY (path_id, version)
       )`,
      // name_id = HMAC-SHA256(index key, name); envelope = sealed policy record.
      `CREATE TABLE ${PG_SCHEMA}.policies (
         name_id bytea PRIMARY KEY ${ID_CHECK('name_id')},
         envelope bytea NOT NULL,
         revision bigint NOT NULL DEFAULT 1
       )`,
      // Non-secret bookkeeping, e.g. the root key's key-check value.
      `CREATE TABLE ${PG_SCHEMA}.meta (key text PRIMARY KEY, value bytea NOT NULL)`,
    ],
  },
  {
    version: 2,
    name: 'revision counters for replica coherence (policies)',
    statements: [
      // One row per cached kind; bumped in the same transaction as every change of that kind, so
      // a replica compares its cache's revision with this row before it serves from the cache.
      `CREATE TABLE ${PG_SCHEMA}.revisions (
         name text PRIMARY KEY,
         revision bigint NOT NULL CHECK (revision >= 0)
       )`,
      `INSERT INTO ${PG_SCHEMA}.revisions (name, revision) VALUES ('policies', 0)`,
    ],
  },
  {
    version: 3,
    name: 'root-key generations for online rotation',
    statements: [
      // One row per root key after the first (key-generations.ts, ADR 0044).
      `CREATE TABLE ${PG_SCHEMA}.root_keys (
         generation bigint PRIMARY KEY CHECK (generation >= 2),
         key_check bytea NOT NULL,
         state text NOT NULL CHECK (state IN ('rotating', 'current', 'retired')),
         started_at bigint NOT NULL,
         finished_at bigint,
         carry bytea,
         up bytea,
         down bytea
       )`,
      // Every row written must be sealed under the newest generation: a replica that has not yet
      // learnt of a rotation begun elsewhere cannot write a row under the old key (its write fails
      // with a serialization failure, it reads the generations again and the caller retries).
      `CREATE FUNCTION ${PG_SCHEMA}.check_envelope_generation() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE
         wanted bigint;
       BEGIN
         SELECT coalesce(max(generation), 1) INTO wanted FROM ${PG_SCHEMA}.root_keys;
         IF get_byte(NEW.envelope, 1)::bigint * 16777216 + get_byte(NEW.envelope, 2) * 65536
            + get_byte(NEW.envelope, 3) * 256 + get_byte(NEW.envelope, 4) <> wanted THEN
           RAISE EXCEPTION 'spike: row sealed under an old root-key generation (newest is %)', wanted
             USING ERRCODE = '40001';
         END IF;
         RETURN NEW;
       END
       $$`,
      ...['secrets', 'secret_versions', 'policies'].map(
        (table) =>
          `CREATE TRIGGER envelope_generation BEFORE INSERT OR UPDATE OF envelope ON ${PG_SCHEMA}.${table}
           FOR EACH ROW EXECUTE FUNCTION ${PG_SCHEMA}.check_envelope_generation()`,
      ),
    ],
  },
]);

export function latestPgSchemaVersion(migrations: readonly PgMigration[] = PG_MIGRATIONS): number {
  return migrations.at(-1)?.version ?? 0;
}

/** Advisory lock key (two int4 halves) that serializes migrators: "SPKE", "migr". */
const MIGRATION_LOCK = [0x53504b45, 0x6d696772] as const;

/**
 * The schema version of the database: 0 when the `spike` schema or its migration table is
 * missing. Runs no DDL and needs no privilege beyond reading `spike.schema_migrations`.
 */
export async function readPgSchemaVersion(client: ClientBase): Promise<number> {
  const table = await client.query<{ t: string | null }>(
    `SELECT to_regclass('${PG_SCHEMA}.schema_migrations')::text AS t`,
  );
  if (table.rows[0]?.t === null || table.rows[0] === undefined) return 0;
  const r = await client.query<{ v: string | null }>(
    `SELECT max(version)::text AS v FROM ${PG_SCHEMA}.schema_migrations`,
  );
  return Number(r.rows[0]?.v ?? 0);
}

/** Why a schema cannot be used as it is. */
export type SchemaProblem = 'missing' | 'older' | 'newer';

/** The database's schema is not the one this build needs. */
export class PgSchemaMismatchError extends StoreSchemaError {
  readonly problem: SchemaProblem;
  readonly found: number;
  readonly needed: number;
  constructor(problem: SchemaProblem, found: number, needed: number) {
    super(
      problem === 'missing'
        ? `the database has no SPIKE-TS schema (schema "${PG_SCHEMA}", version ${String(needed)} needed): ` +
            'run `spike-nexus migrate` as the DDL role'
        : problem === 'older'
          ? `the database schema is version ${String(found)}, older than this build needs (${String(needed)}): ` +
            'run `spike-nexus migrate` as the DDL role'
          : `the database schema is version ${String(found)}, newer than this build supports (${String(needed)}): ` +
            'upgrade SPIKE-TS or restore a matching backup',
    );
    this.problem = problem;
    this.found = found;
    this.needed = needed;
  }
}

/** Throws `PgSchemaMismatchError` unless the database is at exactly the newest version. */
export async function checkPostgresSchema(
  client: ClientBase,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<number> {
  const needed = latestPgSchemaVersion(migrations);
  const found = await readPgSchemaVersion(client);
  if (found === needed) return found;
  throw new PgSchemaMismatchError(
    found === 0 ? 'missing' : found < needed ? 'older' : 'newer',
    found,
    needed,
  );
}

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly number[];
}

/**
 * Brings the database to the newest schema version (creating the `spike` schema if needed).
 * Throws `StoreSchemaError` when the database is newer than `migrations` or a statement fails
 * (then nothing is applied). Needs a role that may create schemas and tables in the database.
 */
export async function migratePostgres(
  client: ClientBase,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
  /** Statements run after the migrations, in the same transaction (e.g. `runtimeGrants`). */
  after: readonly string[] = [],
): Promise<MigrationResult> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new StoreSchemaError('migrations must be numbered 1, 2, 3, ... without gaps');
  });
  const latest = latestPgSchemaVersion(migrations);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK]);
    let from: number;
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${PG_SCHEMA}.schema_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      // Read under the lock: another migrator may have finished meanwhile.
      from = await readPgSchemaVersion(client);
    } catch (err) {
      throw new StoreSchemaError(
        `cannot create the schema "${PG_SCHEMA}" (${(err as Error).message}): ` +
          'migrations need a role that owns the database or may create in it',
        { cause: err },
      );
    }
    if (from > latest) throw new PgSchemaMismatchError('newer', from, latest);
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= from) continue;
      try {
        for (const sql of m.statements) await client.query(sql);
        await client.query(`INSERT INTO ${PG_SCHEMA}.schema_migrations (version, name) VALUES ($1, $2)`, [
          m.version,
          m.name,
        ]);
      } catch (err) {
        throw new StoreSchemaError(
          `schema migration ${String(m.version)} (${m.name}) failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
      applied.push(m.version);
    }
    for (const sql of after) await client.query(sql);
    await client.query('COMMIT');
    return { from, to: latest, applied };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

const ROLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The grants the runtime role needs, and all it needs: use of the schema, reading the migration
 * table (the start-up version check), reading and writing the data tables, and reading and
 * inserting (never changing) the key-check value, reading and bumping the revision counters. Connecting to the database is granted to
 * PUBLIC by default; where it was revoked, add `GRANT CONNECT ON DATABASE <db> TO <role>`.
 */
export function runtimeGrants(role: string): string[] {
  if (!ROLE_NAME.test(role)) {
    throw new RangeError('a role name must be a plain SQL identifier: letters, digits and _ (at most 63)');
  }
  const r = `"${role}"`;
  return [
    `GRANT USAGE ON SCHEMA ${PG_SCHEMA} TO ${r}`,
    `GRANT SELECT ON ${PG_SCHEMA}.schema_migrations TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${PG_SCHEMA}.secrets, ${PG_SCHEMA}.secret_versions, ${PG_SCHEMA}.policies TO ${r}`,
    `GRANT SELECT, INSERT ON ${PG_SCHEMA}.meta TO ${r}`,
    `GRANT SELECT, UPDATE ON ${PG_SCHEMA}.revisions TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE ON ${PG_SCHEMA}.root_keys TO ${r}`,
  ];
}
