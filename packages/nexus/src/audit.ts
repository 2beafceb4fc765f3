/**
 * The audit trail: one JSON line per request on its own sink (not the operational log). It says
 * who did what to which path or policy, the decision and the outcome. It never holds secret
 * values, cipher payloads or shards: the record type has no field that could carry them.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export type AuditDecision = 'allowed' | 'denied' | 'none';

export interface AuditRecord {
  /** RFC 3339 time the request arrived. */
  readonly time: string;
  readonly requestId: string;
  /** The caller's SPIFFE ID or `user:<name>`, or null when it proved none we accept. */
  readonly caller: string | null;
  /** Where the request came in: `mtls`, `people-api` or `console` (absent: `mtls`, older records). */
  readonly door?: string;
  /** A person's principal (`user:<name>`) and groups, as the token said. */
  readonly principal?: string;
  readonly groups?: readonly string[];
  /** Why a caller's credentials were refused (a short code such as `token_expired`). */
  readonly reason?: string;
  /** URL path as requested. */
  readonly route: string;
  /** `?action=` value ('' = default action). */
  readonly action: string;
  /** Secret path the request names, if any. */
  readonly path?: string;
  /** Policy name the request names, if any. */
  readonly policy?: string;
  /** Store row the request names (damaged-row removal): `<table>/<lookup id hex>`. */
  readonly row?: string;
  /** Approval request filed, decided or whose grant was used (ADR 0042). */
  readonly approval?: string;
  /** Approval operation (`read`, `write`, `sign`, `decrypt`, `policy`). */
  readonly operation?: string;
  /** The approval request's status after this call. */
  readonly approvalStatus?: string;
  /** `none` = rejected before authorization was evaluated (bad route, bad body, not ready). */
  readonly decision: AuditDecision;
  readonly status: number;
  /** Wire error code, absent on success. */
  readonly err?: string;
  readonly durationMs: number;
}

export interface AuditLog {
  record(entry: AuditRecord): void;
  close(): Promise<void>;
}

export type AuditTarget =
  | { readonly kind: 'stderr' }
  | { readonly kind: 'stdout' }
  | { readonly kind: 'off' }
  | { readonly kind: 'file'; readonly path: string };

export interface AuditSink {
  /** One or more complete lines, each ending in `\n`. Never waits. */
  write(lines: string): void;
  /** Reopens the sink's file, if it has one (SIGHUP, after logrotate renamed it). */
  reopen?(): void;
  close(): Promise<void>;
}

/** Writes every line to each sink in turn (the local sink and the syslog aggregator). */
export function teeAuditSinks(sinks: readonly AuditSink[]): AuditSink {
  if (sinks.length === 1) return sinks[0] as AuditSink;
  return {
    write(lines) {
      for (const sink of sinks) sink.write(lines);
    },
    reopen() {
      for (const sink of sinks) sink.reopen?.();
    },
    close: async () => {
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}

/** Longest resource name kept in a record; longer names are cut (they are invalid anyway). */
export const AUDIT_MAX_FIELD = 512;

function clip(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length > AUDIT_MAX_FIELD ? `${value.slice(0, AUDIT_MAX_FIELD)}…` : value;
}

/** Most groups of a person kept in a record (the token's list is bounded before, too). */
const AUDIT_MAX_GROUPS = 64;

function clipGroups(groups: readonly string[]): string[] {
  return groups.slice(0, AUDIT_MAX_GROUPS).map((g) => clip(g) ?? '');
}

export function createAuditLog(sink: AuditSink): AuditLog {
  return {
    record(entry) {
      const line: AuditRecord = {
        time: entry.time,
        requestId: entry.requestId,
        caller: entry.caller === null ? null : (clip(entry.caller) ?? null),
        ...(entry.door === undefined ? {} : { door: entry.door }),
        ...(entry.principal === undefined ? {} : { principal: clip(entry.principal) }),
        ...(entry.groups === undefined ? {} : { groups: clipGroups(entry.groups) }),
        ...(entry.reason === undefined ? {} : { reason: clip(entry.reason) }),
        route: clip(entry.route) ?? '',
        action: clip(entry.action) ?? '',
        ...(entry.path === undefined ? {} : { path: clip(entry.path) }),
        ...(entry.policy === undefined ? {} : { policy: clip(entry.policy) }),
        ...(entry.row === undefined ? {} : { row: clip(entry.row) }),
        ...(entry.approval === undefined ? {} : { approval: clip(entry.approval) }),
        ...(entry.operation === undefined ? {} : { operation: entry.operation }),
        ...(entry.approvalStatus === undefined ? {} : { approvalStatus: entry.approvalStatus }),
        decision: entry.decision,
        status: entry.status,
        ...(entry.err === undefined ? {} : { err: entry.err }),
        durationMs: entry.durationMs,
      };
      sink.write(`${JSON.stringify(line)}\n`);
    },
    close: () => sink.close(),
  };
}

/** Waiting audit text that triggers an immediate write. */
const BATCH_BYTES = 64 * 1024;

/**
 * Hands lines to `write` in one piece per event-loop turn (or as soon as 64 KiB are waiting)
 * instead of one write per request. Records keep their order; `flush` writes what is waiting
 * now (close and shutdown call it). A line waits at most until the current turn ends.
 */
function batched(write: (chunk: string) => void): { add(line: string): void; flush(): void } {
  let lines: string[] = [];
  let bytes = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const flush = (): void => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    if (lines.length === 0) return;
    const chunk = lines.length === 1 ? (lines[0] as string) : lines.join('');
    lines = [];
    bytes = 0;
    write(chunk);
  };
  return {
    add(line) {
      lines.push(line);
      bytes += line.length;
      if (bytes >= BATCH_BYTES) flush();
      else scheduled ??= setImmediate(flush);
    },
    flush,
  };
}

/** Open the sink named by the configuration. File sinks append and are created mode 0600. */
export function openAuditSink(target: AuditTarget, onError?: (err: Error) => void): AuditSink {
  switch (target.kind) {
    case 'off':
      return { write: () => undefined, close: () => Promise.resolve() };
    case 'stderr':
    case 'stdout': {
      const stream = target.kind === 'stderr' ? process.stderr : process.stdout;
      const batch = batched((chunk) => void stream.write(chunk));
      return {
        write: (line) => batch.add(line),
        close: () => {
          batch.flush();
          return Promise.resolve();
        },
      };
    }
    case 'file': {
      // `reopen` (SIGHUP) starts a new stream on the same path, logrotate's `create` style: the
      // old stream gets what was written before and is closed once it has written it.
      const open = (): { stream: WriteStream; failed: boolean } => {
        const state = { stream: createWriteStream(target.path, { flags: 'a', mode: 0o600 }), failed: false };
        state.stream.on('error', (err) => {
          state.failed = true;
          onError?.(err);
        });
        return state;
      };
      let current = open();
      const batch = batched((chunk) => {
        if (!current.failed) current.stream.write(chunk);
      });
      const finish = (state: { stream: WriteStream; failed: boolean }): Promise<void> =>
        new Promise<void>((resolve) => {
          if (state.failed || state.stream.destroyed) {
            resolve();
            return;
          }
          state.stream.end(() => resolve());
        });
      return {
        write: (line) => batch.add(line),
        reopen: () => {
          batch.flush();
          const old = current;
          current = open();
          void finish(old);
        },
        close: () => {
          batch.flush();
          return finish(current);
        },
      };
    }
  }
}

/**
 * A sink that hands its lines, batched per event-loop turn, to `send` (an API thread posts its
 * records to the main thread, which writes them to the configured sinks).
 */
export function forwardingAuditSink(send: (chunk: string) => void): AuditSink {
  const batch = batched(send);
  return {
    write: (lines) => batch.add(lines),
    close: () => {
      batch.flush();
      return Promise.resolve();
    },
  };
}

/** An in-memory sink for tests: keeps every line; `records()` leaves out the chain's checkpoints. */
export function createMemoryAuditSink(): AuditSink & { readonly lines: string[]; records(): AuditRecord[] } {
  const lines: string[] = [];
  return {
    lines,
    write: (chunk) => {
      for (const line of chunk.split('\n')) if (line !== '') lines.push(`${line}\n`);
    },
    close: () => Promise.resolve(),
    records: () =>
      lines
        .map((l) => JSON.parse(l) as AuditRecord & { checkpoint?: string })
        .filter((r) => r.checkpoint === undefined),
  };
}
