/**
 * A real syslog daemon for the audit shipping tests: Debian's `rsyslogd`, unprivileged, in the
 * foreground (`-n`) with its own config, pid file and work directory in a temp dir, one `imtcp`
 * input on loopback (plain or TLS through the `gtls` driver), and every message written to a
 * file as tab-separated fields rsyslog parsed (protocol version, PRI, time, host, app, procid,
 * msgid, structured data, MSG). It can be killed and started again on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../../scripts/stack.ts';

export interface RsyslogTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Require a client certificate signed by the CA (`x509/certvalid`); else anonymous clients. */
  readonly clientAuth: boolean;
}

/** One message as rsyslog parsed it. */
export interface ParsedMessage {
  /** `1` when rsyslog parsed the message as RFC 5424. */
  readonly version: string;
  readonly pri: number;
  readonly time: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  readonly structuredData: string;
  readonly msg: string;
}

export interface Rsyslog {
  readonly port: number;
  /** Every message written so far, in file order. */
  messages(): Promise<ParsedMessage[]>;
  /** Waits until at least `count` messages are in the file; returns them. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ParsedMessage[]>;
  /** Stops the daemon with `signal` and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (after `stop`). */
  start(): Promise<void>;
  readonly output: () => string;
}

/** rsyslogd's path (ordinary users may not have /usr/sbin on PATH), or a clear error. */
export function rsyslogdPath(): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    if (dir === '') continue;
    const candidate = join(dir, 'rsyslogd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('rsyslogd not found: install the Debian packages rsyslog and rsyslog-gnutls');
}

/** The gtls module is a separate package; say which one is missing. */
function checkGtls(): void {
  for (const dir of [
    '/usr/lib/x86_64-linux-gnu/rsyslog',
    '/usr/lib/aarch64-linux-gnu/rsyslog',
    '/usr/lib/rsyslog',
  ]) {
    try {
      accessSync(join(dir, 'lmnsd_gtls.so'), constants.R_OK);
      return;
    } catch {
      // next
    }
  }
  throw new Error('rsyslog TLS driver (lmnsd_gtls.so) not found: install the Debian package rsyslog-gnutls');
}

/** Whether something accepts TCP connections on the loopback port (the probe sends nothing). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export async function startRsyslog(dir: string, opts: { tls?: RsyslogTls } = {}): Promise<Rsyslog> {
  const bin = rsyslogdPath();
  if (opts.tls !== undefined) checkGtls();
  const outFile = join(dir, 'messages.tsv');
  const portFile = join(dir, 'port');
  const confFile = join(dir, 'rsyslog.conf');
  const pidFile = join(dir, 'rsyslogd.pid');
  let port = 0;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';

  const config = (): string => {
    const tls = opts.tls;
    const globals = [`workDirectory="${dir}"`, 'maxMessageSize="64k"'];
    if (tls !== undefined) {
      globals.push(
        'defaultNetstreamDriver="gtls"',
        `defaultNetstreamDriverCAFile="${tls.caFile}"`,
        `defaultNetstreamDriverCertFile="${tls.certFile}"`,
        `defaultNetstreamDriverKeyFile="${tls.keyFile}"`,
      );
    }
    const driver =
      tls === undefined
        ? ''
        : ` streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="${tls.clientAuth ? 'x509/certvalid' : 'anon'}"`;
    return [
      `global(${globals.join(' ')})`,
      'module(load="imtcp")',
      `input(type="imtcp" address="127.0.0.1" port="${String(port)}" listenPortFileName="${portFile}"${driver})`,
      'template(name="fields" type="string" string="%protocol-version%\\t%pri%\\t%timereported:::date-rfc3339%\\t%hostname%\\t%app-name%\\t%procid%\\t%msgid%\\t%structured-data%\\t%msg%\\n")',
      `*.* action(type="omfile" file="${outFile}" template="fields")`,
      '',
    ].join('\n');
  };

  const start = async (): Promise<void> => {
    await rm(portFile, { force: true });
    await rm(pidFile, { force: true });
    await writeFile(confFile, config());
    const proc = spawn(bin, ['-n', '-f', confFile, '-i', pidFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    child = proc;
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
    let gone = false;
    exited = new Promise((resolve) =>
      proc.once('exit', () => {
        gone = true;
        resolve();
      }),
    );
    await waitFor('rsyslogd to listen', 20_000, async () => {
      if (gone) throw new Error(`rsyslogd exited at start:\n${out}`);
      // rsyslogd writes the port file only when it chose the port (the first start).
      if (port !== 0) return accepts(port);
      try {
        const text = (await readFile(portFile, 'utf8')).trim();
        return text !== '' && Number(text) > 0;
      } catch {
        return false;
      }
    });
    if (port === 0) port = Number((await readFile(portFile, 'utf8')).trim());
  };

  const messages = async (): Promise<ParsedMessage[]> => {
    let text: string;
    try {
      text = await readFile(outFile, 'utf8');
    } catch {
      return [];
    }
    const result: ParsedMessage[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const f = line.split('\t');
      result.push({
        version: f[0] ?? '',
        pri: Number(f[1]),
        time: f[2] ?? '',
        hostname: f[3] ?? '',
        appName: f[4] ?? '',
        procId: f[5] ?? '',
        msgId: f[6] ?? '',
        structuredData: f[7] ?? '',
        msg: f.slice(8).join('\t'),
      });
    }
    return result;
  };

  await start();
  return {
    get port() {
      return port;
    },
    messages,
    async waitForMessages(count, timeoutMs = 30_000) {
      let last: ParsedMessage[] = [];
      await waitFor(`${String(count)} syslog messages`, timeoutMs, async () => {
        last = await messages();
        return last.length >= count;
      }).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; got ${String(last.length)}\n${out}`);
      });
      return last;
    },
    async stop(signal = 'SIGTERM') {
      const proc = child;
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
      child = undefined;
      // The kernel may hold the port a moment after the process is gone.
      await sleep(10);
    },
    start,
    output: () => out,
  };
}
