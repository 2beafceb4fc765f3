/**
 * Minimal structured logger: one JSON object per line. The sink is injected so this module
 * stays free of I/O; servers pass `(line) => process.stderr.write(line)`.
 * Never pass secret material in `fields`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_ORDER: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  sink: (line: string) => void;
  /** Fields added to every record (e.g. `{ component: 'nexus' }`). */
  base?: Record<string, unknown>;
  now?: () => Date;
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  const v = (value ?? '').trim().toLowerCase();
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : fallback;
}

/**
 * Reads a log level setting strictly: unset or blank gives `fallback`; anything else must name a
 * level (case-insensitive), or a RangeError says which values are allowed (never echoing the value).
 */
export function readLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  if (value === undefined || value.trim() === '') return fallback;
  const v = value.trim().toLowerCase();
  if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
  throw new RangeError('must be one of DEBUG, INFO, WARN, ERROR');
}

export function createLogger(options: LoggerOptions): Logger {
  const min = LEVEL_ORDER[options.level ?? 'info'];
  const now = options.now ?? (() => new Date());
  const base = options.base ?? {};
  const write = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_ORDER[level] < min) return;
    const record = { time: now().toISOString(), level, msg, ...base, ...fields };
    options.sink(JSON.stringify(record, errorReplacer) + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...options, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, libraries used without a logger). */
export const silentLogger: Logger = createLogger({ level: 'error', sink: () => undefined, base: {} });

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}
