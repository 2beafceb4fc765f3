/**
 * Audit shipping's metrics (ADR 0029): the syslog sink's counters, read from the sink when
 * scraped. Registered on the main thread only, which owns the one connection, and only when
 * shipping is on (a constant "not connected" would only raise alerts).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SyslogStats } from '../audit-syslog.ts';
import {
  AUDIT_SYSLOG_CONNECT_FAILURES,
  AUDIT_SYSLOG_CONNECTED,
  AUDIT_SYSLOG_DROPPED,
  AUDIT_SYSLOG_QUEUED,
  AUDIT_SYSLOG_SENT,
  type MetricDef,
} from './catalog.ts';

export function registerAuditShippingMetrics(registry: Registry, stats: () => SyslogStats): void {
  const base = (d: MetricDef) => ({ name: d.name, help: d.help, registers: [registry] });
  const gauge = (d: MetricDef, read: (s: SyslogStats) => number): void => {
    new Gauge({
      ...base(d),
      collect() {
        this.set(read(stats()));
      },
    });
  };
  const counter = (d: MetricDef, read: (s: SyslogStats) => number): void => {
    new Counter({
      ...base(d),
      collect() {
        this.reset();
        this.inc(read(stats()));
      },
    });
  };
  gauge(AUDIT_SYSLOG_CONNECTED, (s) => s.connected);
  gauge(AUDIT_SYSLOG_QUEUED, (s) => s.queued);
  counter(AUDIT_SYSLOG_DROPPED, (s) => s.dropped);
  counter(AUDIT_SYSLOG_SENT, (s) => s.sent);
  counter(AUDIT_SYSLOG_CONNECT_FAILURES, (s) => s.connectFailures);
}
