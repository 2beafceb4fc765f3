/**
 * Where the main thread's audit records go: the local sink (`SPIKE_NEXUS_AUDIT_LOG`, or the one
 * a test passes in) and, with `SPIKE_NEXUS_AUDIT_SYSLOG`, the syslog aggregator too. API threads
 * forward their records here. Also the write gate of the `block` policy: which routes count as
 * mutations, refused while the aggregator cannot take records (ADR 0029).
 */
import { createSecureContext } from 'node:tls';
import type { Logger } from '@spike-ts/core';
import type { AnyRouteSpec } from '@spike-ts/protocol';
import { openAuditSink, teeAuditSinks, type AuditSink } from './audit.ts';
import {
  chainAuditSink,
  loadAuditSigner,
  readChainTail,
  type AuditSigner,
  type ChainSink,
} from './audit-chain.ts';
import { openSyslogSink, type SyslogSink } from './audit-syslog.ts';
import type { NexusConfig } from './config.ts';

/**
 * Whether a route changes what Nexus stores (its spec's `effect` is `write`). With the `block`
 * policy such routes are refused while the aggregator cannot take records. Reads, the cipher API
 * and the operator's break-the-glass recover/restore (`custody`) never wait for the aggregator
 * (their records are queued or counted as dropped).
 */
export function isMutating(route: { readonly spec: Pick<AnyRouteSpec, 'effect'> }): boolean {
  return route.spec.effect === 'write';
}

export interface AuditOutput {
  /** The sink the main thread's audit log writes to (and API threads' records go to). */
  readonly sink: AuditSink;
  /** The syslog sink, when audit shipping is on. */
  readonly syslog: SyslogSink | undefined;
  /** False while mutations must be refused (the `block` policy and the aggregator cannot take records). */
  writesAllowed(): boolean;
  /** The checkpoint key and the chain (ADR 0040), or undefined when audit records go nowhere. */
  readonly chain: { readonly signer: AuditSigner; readonly sink: ChainSink } | undefined;
}

/**
 * Chains `sink` (every line hashed into the next, signed checkpoints), continuing the chain of an
 * existing audit file. Throws `AuditKeyError` when the key file cannot be used.
 */
function chained(config: NexusConfig, sink: AuditSink, now?: () => number): AuditOutput['chain'] {
  const signer = loadAuditSigner(config.auditChain.keyFile);
  const chain = chainAuditSink(sink, {
    signer,
    everyRecords: config.auditChain.everyRecords,
    intervalMs: config.auditChain.intervalMs,
    tail: config.audit.kind === 'file' ? readChainTail(config.audit.path) : null,
    ...(now === undefined ? {} : { now }),
  });
  return { signer, sink: chain };
}

export function openAuditOutput(
  config: NexusConfig,
  logger: Logger,
  local?: AuditSink,
  now?: () => number,
): AuditOutput {
  const primary =
    local ??
    openAuditSink(config.audit, (err) =>
      logger.error('audit sink failed; audit records are being lost', { err }),
    );
  const s = config.auditSyslog;
  if (s === null) {
    if (local === undefined && config.audit.kind === 'off') {
      return { sink: primary, syslog: undefined, writesAllowed: () => true, chain: undefined };
    }
    const chain = chained(config, primary, now);
    return { sink: chain?.sink ?? primary, syslog: undefined, writesAllowed: () => true, chain };
  }
  const syslog = openSyslogSink({
    host: s.host,
    port: s.port,
    policy: s.policy,
    queueSize: s.queueSize,
    facility: s.facility,
    ...(s.tls === null
      ? {}
      : {
          tls: createSecureContext({
            ca: s.tls.caPem,
            ...(s.tls.certPem === undefined ? {} : { cert: s.tls.certPem, key: s.tls.keyPem }),
            minVersion: 'TLSv1.2',
          }),
        }),
    logger,
  });
  const chain = chained(config, teeAuditSinks([primary, syslog]), now);
  return {
    sink: chain?.sink ?? primary,
    syslog,
    writesAllowed: () => syslog.acceptingWrites(),
    chain,
  };
}
