/**
 * Audit shipping: an audit sink that sends each record to a syslog aggregator as an RFC 5424
 * message over TCP (optionally TLS), framed by octet counting (RFC 6587 §3.4.1). The record's
 * JSON is the MSG part, unchanged.
 *
 * Records wait in a bounded in-memory queue; one connection drains it, one chunk in flight at a
 * time. When the aggregator is down the sink reconnects with backoff, and `write` never waits:
 * a record that finds the queue full is dropped and counted. Whether Nexus keeps accepting
 * writes meanwhile is the caller's policy (`acceptingWrites`, ADR 0029): with `block` it refuses
 * mutations while the aggregator cannot take records, with `buffer` it keeps serving.
 *
 * What TCP cannot tell: a chunk the kernel accepted is "sent" even if the aggregator dies before
 * reading it. A chunk whose write did not complete when the connection failed goes back to the
 * head of the queue and is sent again on the next connection.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import type { Logger } from '@spike-ts/core';
import type { AuditSink } from './audit.ts';

export type SyslogPolicy = 'block' | 'buffer';

export interface SyslogSinkOptions {
  readonly host: string;
  readonly port: number;
  /** TLS: the context holds the CA (and the client certificate); the server name is `host`. */
  readonly tls?: SecureContext;
  /** Records the queue holds at most. */
  readonly queueSize: number;
  readonly policy: SyslogPolicy;
  /** RFC 5424 facility number (0..23). */
  readonly facility: number;
  /** RFC 5424 HOSTNAME (default: this machine's name). */
  readonly hostname?: string;
  /** RFC 5424 APP-NAME (default `spike-nexus`). */
  readonly appName?: string;
  /** RFC 5424 PROCID (default: this process's id). */
  readonly procId?: string;
  /** Delay before the first reconnect, doubled up to `maxMs`. Defaults 200 ms and 30 s. */
  readonly backoff?: { readonly firstMs: number; readonly maxMs: number };
  /** Time a connection (with its TLS handshake) may take. Default 10 s. */
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
  /** Epoch milliseconds (tests). */
  readonly now?: () => number;
}

export interface SyslogStats {
  /** 1 while a connection to the aggregator is up. */
  readonly connected: number;
  /** Records waiting in the queue (and in the chunk being written). */
  readonly queued: number;
  /** Records dropped because the queue was full. */
  readonly dropped: number;
  /** Records handed to the connection (accepted by the kernel). */
  readonly sent: number;
  /** Connections that failed or could not be made. */
  readonly connectFailures: number;
}

export interface SyslogSink extends AuditSink {
  /** False while the sink cannot take records now: not connected, or the queue is full. */
  canTake(): boolean;
  /** True unless the policy is `block` and the sink cannot take records (see `canTake`). */
  acceptingWrites(): boolean;
  stats(): SyslogStats;
  readonly policy: SyslogPolicy;
}

/** RFC 5424 severity of every audit record: informational. */
const SEVERITY_INFO = 6;
/** Bytes written to the connection at once. */
const CHUNK_BYTES = 64 * 1024;
/** Time `close` waits for the queue to drain before it gives up on the rest. */
const CLOSE_DRAIN_MS = 2_000;

/**
 * An RFC 5424 header field (HOSTNAME, APP-NAME, PROCID, MSGID): printable US-ASCII without
 * spaces, at most `max` characters; anything else becomes `-` (the nil value).
 */
export function headerField(value: string, max: number): string {
  if (value.length === 0 || value.length > max) return '-';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 33 || c > 126) return '-';
  }
  return value;
}

export interface FrameFields {
  readonly facility: number;
  readonly severity: number;
  /** RFC 3339 time. */
  readonly time: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  readonly msg: string;
}

/**
 * One octet-counted RFC 5424 message: `MSG-LEN SP <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
 * - MSG`, no structured data. MSG is sent as UTF-8 without a BOM (RFC 5424's MSG-ANY) so that
 * it stays plain JSON.
 */
export function frameSyslog(f: FrameFields): Buffer {
  const pri = f.facility * 8 + f.severity;
  const message =
    `<${String(pri)}>1 ${f.time} ${headerField(f.hostname, 255)} ${headerField(f.appName, 48)} ` +
    `${headerField(f.procId, 128)} ${headerField(f.msgId, 32)} - ${f.msg}`;
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${String(body.length)} `, 'ascii'), body]);
}

export function openSyslogSink(options: SyslogSinkOptions): SyslogSink {
  const log = options.logger?.child({ component: 'audit-syslog' });
  const now = options.now ?? Date.now;
  const backoff = options.backoff ?? { firstMs: 200, maxMs: 30_000 };
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const hostname = options.hostname ?? osHostname();
  const appName = options.appName ?? 'spike-nexus';
  const procId = options.procId ?? String(process.pid);
  const target = `${options.host}:${String(options.port)}`;

  let queue: Buffer[] = [];
  let head = 0;
  /** The chunk being written: its records go back to the queue if the write does not finish. */
  let inFlight: Buffer[] = [];
  let socket: Socket | undefined;
  let connected = false;
  let closing = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let failuresInRow = 0;
  let dropped = 0;
  let sent = 0;
  let connectFailures = 0;
  let drained: (() => void) | undefined;
  /** Set at the first drop of an episode (logged once), cleared when the queue is empty again. */
  let dropping = false;

  const queued = (): number => queue.length - head + inFlight.length;

  const compact = (): void => {
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  const pump = (): void => {
    if (!connected || socket === undefined || inFlight.length > 0) return;
    if (head >= queue.length) {
      queue = [];
      head = 0;
      if (dropping) {
        dropping = false;
        log?.info('audit syslog queue drained', { target, droppedSoFar: dropped });
      }
      drained?.();
      return;
    }
    let bytes = 0;
    const batch: Buffer[] = [];
    while (head < queue.length && bytes < CHUNK_BYTES) {
      const frame = queue[head] as Buffer;
      head++;
      batch.push(frame);
      bytes += frame.length;
    }
    compact();
    inFlight = batch;
    const conn = socket;
    conn.write(batch.length === 1 ? (batch[0] as Buffer) : Buffer.concat(batch, bytes), (err) => {
      if (err !== undefined && err !== null) return; // 'close' puts the chunk back
      if (conn !== socket) return;
      sent += batch.length;
      inFlight = [];
      pump();
    });
  };

  const scheduleReconnect = (): void => {
    if (closing || reconnectTimer !== undefined) return;
    const delayMs = Math.min(backoff.firstMs * 2 ** Math.max(0, failuresInRow - 1), backoff.maxMs);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      open();
    }, delayMs);
    reconnectTimer.unref();
  };

  const lost = (conn: Socket, err: Error | undefined): void => {
    if (conn !== socket) return;
    socket = undefined;
    const wasConnected = connected;
    connected = false;
    connectFailures++;
    failuresInRow++;
    // What was not written yet goes back to the head of the queue, in order.
    if (inFlight.length > 0) {
      queue = [...inFlight, ...queue.slice(head)];
      head = 0;
      inFlight = [];
    }
    if (wasConnected) {
      log?.warn('syslog aggregator connection lost; audit records are queued until it is back', {
        target,
        policy: options.policy,
        ...(options.policy === 'block' ? { mutations: 'refused until it is back' } : {}),
        queued: queued(),
        ...(err === undefined ? {} : { err }),
      });
    } else if (failuresInRow === 1 || failuresInRow % 10 === 0) {
      log?.warn('cannot connect to the syslog aggregator; retrying', {
        target,
        attempts: failuresInRow,
        queued: queued(),
        ...(err === undefined ? {} : { err }),
      });
    }
    conn.destroy();
    if (closing) drained?.();
    scheduleReconnect();
  };

  function open(): void {
    if (closing) return;
    const common = { host: options.host, port: options.port };
    const conn: Socket =
      options.tls === undefined
        ? netConnect(common)
        : tlsConnect({
            ...common,
            secureContext: options.tls,
            // SNI only for names; an IP address is checked against the certificate's IP SANs.
            ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
          });
    socket = conn;
    let failure: Error | undefined;
    conn.setTimeout(connectTimeoutMs, () => {
      if (!connected) lost(conn, new Error(`no connection within ${String(connectTimeoutMs)} ms`));
    });
    conn.setNoDelay(true);
    conn.once(options.tls === undefined ? 'connect' : 'secureConnect', () => {
      if (conn !== socket) return;
      conn.setTimeout(0);
      connected = true;
      if (failuresInRow > 0) log?.info('syslog aggregator connected', { target, queued: queued() });
      failuresInRow = 0;
      pump();
    });
    conn.on('error', (err) => (failure = err));
    // The aggregator never sends anything; data or a half-close from it ends this connection.
    conn.on('data', () => undefined);
    conn.on('end', () => lost(conn, failure));
    conn.on('close', () => lost(conn, failure));
  }

  open();

  const add = (frame: Buffer): void => {
    if (queued() >= options.queueSize) {
      dropped++;
      if (!dropping) {
        dropping = true;
        log?.warn('audit syslog queue is full; audit records are being dropped (counted)', {
          target,
          queueSize: options.queueSize,
        });
      }
      return;
    }
    queue.push(frame);
    if (connected && inFlight.length === 0) pump();
  };

  return {
    policy: options.policy,
    write(lines) {
      // One line per record; API threads hand over several at once.
      const time = new Date(now()).toISOString();
      let start = 0;
      while (start < lines.length) {
        let end = lines.indexOf('\n', start);
        if (end < 0) end = lines.length;
        if (end > start) {
          add(
            frameSyslog({
              facility: options.facility,
              severity: SEVERITY_INFO,
              time,
              hostname,
              appName,
              procId,
              msgId: 'audit',
              msg: lines.slice(start, end),
            }),
          );
        }
        start = end + 1;
      }
    },
    canTake() {
      return connected && queued() < options.queueSize;
    },
    acceptingWrites() {
      return options.policy === 'buffer' || (connected && queued() < options.queueSize);
    },
    stats() {
      return { connected: connected ? 1 : 0, queued: queued(), dropped, sent, connectFailures };
    },
    async close() {
      if (closing) return;
      // Give what is queued a short time to leave (a connection being made or retried included).
      if (queued() > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, CLOSE_DRAIN_MS);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
          pump();
        });
      }
      closing = true;
      drained = undefined;
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      const conn = socket;
      if (conn !== undefined) {
        await new Promise<void>((resolve) => {
          conn.once('close', () => resolve());
          conn.end();
          setTimeout(() => conn.destroy(), CLOSE_DRAIN_MS).unref();
        });
      }
      if (queued() > 0) {
        log?.warn('audit records not shipped to the syslog aggregator at shutdown', { count: queued() });
      }
    },
  };
}
