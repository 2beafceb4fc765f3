/**
 * A private PostgreSQL cluster for tests (test code only, `@spike-ts/store/testing`): `initdb` in
 * a temp dir, the server listening on a unix socket in that dir (and, when asked, on a free
 * loopback TCP port with TLS), two login roles as an operator would create them — a DDL role that
 * owns the database and a runtime role with nothing granted yet — and their password files. When
 * the tests run as root the server runs as `nobody` (PostgreSQL refuses to run as root), in a
 * temp dir that user owns. `stop()` shuts the server down and removes the dir; a process exiting
 * without calling it still stops the server (immediate shutdown). Backups and restores, file-level
 * (`copyData`, `restoreData`) and logical (`dump`, `restoreDump`), for the failover and restore
 * drills.
 *
 * Durability settings are relaxed (`fsync=off`): these clusters hold throw-away test data.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { randomBytes } from '@spike-ts/core';

/** A login role of the test cluster and the file holding its password. */
export interface TestRole {
  readonly name: string;
  readonly passwordFile: string;
}

export interface TlsFiles {
  /** PEM certificate chain of the server (leaf first). */
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCluster {
  /** The directory of the unix socket (a `host` for the connection). */
  readonly socketDir: string;
  /** The port: names the socket file, and is the TCP port when `tcp` was asked for. */
  readonly port: number;
  /** Owns the databases `createDatabase` makes: what `spike-nexus migrate` connects as. */
  readonly ddlRole: TestRole;
  /** Gets only what a test grants (see `runtimeGrants` of the store). */
  readonly runtimeRole: TestRole;
  /** A new empty database owned by the DDL role; returns its name. */
  createDatabase(): Promise<string>;
  /** Runs SQL as the cluster's superuser on `database` (default `postgres`). */
  superuser<T extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
    database?: string,
  ): Promise<pg.QueryResult<T>>;
  /** Stops the server (fast shutdown: sessions are ended) and starts it again on the same dir. */
  restart(): Promise<void>;
  /**
   * A file-level backup: stops the server, copies its data directory, starts it again. Returns the
   * copy, for `restoreData`.
   */
  copyData(): Promise<string>;
  /**
   * Stops the server, puts `copy` (from `copyData`) in place of its data directory and starts it:
   * the database goes back to the copy's state, as after restoring a file-level backup or failing
   * over to a standby that had not received the later transactions.
   */
  restoreData(copy: string): Promise<void>;
  /** A logical backup of `database` (`pg_dump`, custom format, as the superuser); returns its file. */
  dump(database: string): Promise<string>;
  /** Restores `file` (from `dump`) into `database` while the server runs (`pg_restore --clean`). */
  restoreDump(database: string, file: string): Promise<void>;
  /** Stops the server and removes every file of the cluster. Idempotent. */
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  /** Also listen on a free loopback port; with `tls`, TCP connections must use TLS. */
  readonly tcp?: boolean;
  readonly tls?: TlsFiles;
}

const SUPERUSER = 'postgres';
const NOBODY = 65534;

/** The directory holding `initdb` and `postgres`: PATH first, then Debian's versioned dirs. */
export function findPostgresBinDir(): string {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = join(base, v, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin: ' +
      "install Debian's postgresql package (`apt-get install postgresql`)",
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const bin = findPostgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const root = mkdtempSync(join(tmpdir(), 'spx-pg-'));
  const data = join(root, 'data');
  const owner = asRoot ? { uid: NOBODY, gid: NOBODY } : {};
  const chown = (path: string): void => {
    if (asRoot) chownSync(path, NOBODY, NOBODY);
  };
  chmodSync(root, 0o700);
  chown(root);
  const secret = (name: string): TestRole => {
    const passwordFile = join(root, `${name}.password`);
    writeFileSync(passwordFile, Buffer.from(randomBytes(18)).toString('base64url') + '\n', { mode: 0o600 });
    return { name, passwordFile };
  };
  const ddlRole = secret('spike_ddl');
  const runtimeRole = secret('spike_app');

  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(join(bin, cmd), args, { cwd: root, ...owner, encoding: 'utf8', env: { LANG: 'C' } });
    if (r.status !== 0) {
      throw new Error(
        `${cmd} failed (${String(r.status ?? r.signal)}): ${(r.stderr || r.stdout).slice(-2000)}`,
      );
    }
  };
  run('initdb', ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);

  const port = options.tcp === true || options.tls !== undefined ? await freePort() : 5432;
  const conf = [
    `listen_addresses = ${quoteLiteral(options.tcp === true || options.tls !== undefined ? '127.0.0.1' : '')}`,
    `port = ${String(port)}`,
    `unix_socket_directories = ${quoteLiteral(root)}`,
    'fsync = off',
    'full_page_writes = off',
    'shared_buffers = 16MB',
    'max_connections = 200',
    "log_min_messages = 'warning'",
  ];
  if (options.tls !== undefined) {
    // The server reads its key as its own user, with no access for others.
    for (const [name, from] of [
      ['server.crt', options.tls.certFile],
      ['server.key', options.tls.keyFile],
    ] as const) {
      const to = join(data, name);
      writeFileSync(to, await readFile(from), { mode: 0o600 });
      chown(to);
    }
    conf.push('ssl = on', "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'");
  }
  writeFileSync(join(data, 'postgresql.auto.conf'), conf.join('\n') + '\n');
  chown(join(data, 'postgresql.auto.conf'));
  // The superuser only over the socket in this private dir; everyone else with a password (over
  // TCP with TLS only, when TLS is on).
  const tcpLine = options.tls !== undefined ? 'hostssl' : 'host';
  writeFileSync(
    join(data, 'pg_hba.conf'),
    [
      `local all ${SUPERUSER} trust`,
      'local all all scram-sha-256',
      `${tcpLine} all all 127.0.0.1/32 scram-sha-256`,
    ].join('\n') + '\n',
  );
  chown(join(data, 'pg_hba.conf'));

  let server: ChildProcess | undefined;
  let log = '';
  const onExit = (): void => {
    if (server?.exitCode === null && server.pid !== undefined) {
      try {
        process.kill(server.pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', onExit);

  const start = async (): Promise<void> => {
    log = '';
    const child = spawn(join(bin, 'postgres'), ['-D', data], {
      cwd: root,
      ...owner,
      env: { LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    const keep = (chunk: Buffer): void => {
      log = (log + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // Ready when the superuser can run a query over the socket.
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null) throw new Error(`postgres exited at start: ${log}`);
      const client = new pg.Client({ host: root, port, user: SUPERUSER, database: 'postgres' });
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return;
      } catch (err) {
        await client.end().catch(() => undefined);
        if (attempt > 600) throw new Error(`postgres did not become ready: ${String(err)} ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };

  const shutdown = async (): Promise<void> => {
    const child = server;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    await exited;
  };

  const superuser = async <T extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<pg.QueryResult<T>> => {
    const client = new pg.Client({ host: root, port, user: SUPERUSER, database });
    await client.connect();
    try {
      return await client.query<T>(sql, params);
    } finally {
      await client.end();
    }
  };

  let stopped = false;
  try {
    await start();
    for (const role of [ddlRole, runtimeRole]) {
      const password = (await readFile(role.passwordFile, 'utf8')).trim();
      await superuser(`CREATE ROLE ${role.name} LOGIN PASSWORD ${quoteLiteral(password)}`);
    }
  } catch (err) {
    await shutdown();
    process.off('exit', onExit);
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  /** Runs a client program of the server's installation as the superuser over the socket. */
  const client = (cmd: string, args: string[]): void => {
    // Beside the server binary itself (PATH may hold only links to initdb and postgres).
    const r = spawnSync(join(dirname(realpathSync(join(bin, 'postgres'))), cmd), args, {
      cwd: root,
      encoding: 'utf8',
      env: { LANG: 'C', PGHOST: root, PGPORT: String(port), PGUSER: SUPERUSER },
    });
    if (r.status !== 0) {
      const why = r.error?.message ?? (r.stderr || r.stdout).slice(-2000);
      throw new Error(`${cmd} failed (${String(r.status ?? r.signal)}): ${why}`);
    }
  };
  /** `cp -a`: keeps the owner (the server's user when the tests run as root) and modes. */
  const copyTree = (from: string, to: string): void => {
    const r = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
  };

  let databases = 0;
  let copies = 0;
  let dumps = 0;
  return {
    socketDir: root,
    port,
    ddlRole,
    runtimeRole,
    async createDatabase(): Promise<string> {
      databases += 1;
      const name = `spike_test_${String(databases)}`;
      await superuser(`CREATE DATABASE ${name} OWNER ${ddlRole.name} STRATEGY FILE_COPY`);
      // As on a fresh PostgreSQL 15 database: PUBLIC may connect, and may not create in `public`.
      await superuser('REVOKE CREATE ON SCHEMA public FROM PUBLIC', [], name);
      return name;
    },
    superuser,
    async restart(): Promise<void> {
      await shutdown();
      await start();
    },
    async copyData(): Promise<string> {
      copies += 1;
      const copy = join(root, `copy-${String(copies)}`);
      await shutdown();
      try {
        copyTree(data, copy);
      } finally {
        await start();
      }
      return copy;
    },
    async restoreData(copy: string): Promise<void> {
      await shutdown();
      rmSync(data, { recursive: true, force: true });
      copyTree(copy, data);
      await start();
    },
    dump(database: string): Promise<string> {
      dumps += 1;
      const file = join(root, `dump-${String(dumps)}.pgdump`);
      client('pg_dump', ['--format=custom', `--file=${file}`, database]);
      return Promise.resolve(file);
    },
    restoreDump(database: string, file: string): Promise<void> {
      client('pg_restore', ['--clean', '--if-exists', '--single-transaction', `--dbname=${database}`, file]);
      return Promise.resolve();
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await shutdown();
      process.off('exit', onExit);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
