/**
 * Go `time.ParseDuration` syntax, as used by SPIKE's environment variables
 * (`SPIKE_SPIFFE_SOURCE_TIMEOUT=30s`, `1m30s`, `500ms`, `1.5h`).
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const MAX_INPUT_LENGTH = 64;

export class DurationSyntaxError extends Error {
  constructor(value: string, reason: string) {
    super(
      `invalid duration ${JSON.stringify(value)}: ${reason} (use Go syntax such as 500ms, 30s, 1m, 1h30m)`,
    );
    this.name = 'DurationSyntaxError';
  }
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

/**
 * Parses a Go duration string and returns milliseconds (fractional for sub-millisecond units).
 * Accepts an optional sign, `0` on its own, and one or more `<number><unit>` groups.
 * Throws `DurationSyntaxError` on anything else.
 */
export function parseGoDuration(value: string): number {
  if (value.length === 0) throw new DurationSyntaxError(value, 'empty');
  if (value.length > MAX_INPUT_LENGTH) throw new DurationSyntaxError(value.slice(0, 16) + '…', 'too long');
  let i = 0;
  let sign = 1;
  if (value[0] === '-' || value[0] === '+') {
    sign = value[0] === '-' ? -1 : 1;
    i = 1;
  }
  if (value.slice(i) === '0') return 0;
  if (i >= value.length) throw new DurationSyntaxError(value, 'missing number');
  let total = 0;
  while (i < value.length) {
    const numStart = i;
    while (i < value.length && isDigit(value[i] ?? '')) i++;
    const intPart = value.slice(numStart, i);
    let fracPart = '';
    if (value[i] === '.') {
      i++;
      const fracStart = i;
      while (i < value.length && isDigit(value[i] ?? '')) i++;
      fracPart = value.slice(fracStart, i);
    }
    if (intPart === '' && fracPart === '') throw new DurationSyntaxError(value, 'missing number');
    const unitStart = i;
    while (i < value.length && !isDigit(value[i] ?? '') && value[i] !== '.') i++;
    const unit = value.slice(unitStart, i);
    if (unit === '') throw new DurationSyntaxError(value, 'missing unit');
    const factor = UNIT_MS[unit];
    if (factor === undefined) throw new DurationSyntaxError(value, `unknown unit ${JSON.stringify(unit)}`);
    const amount = Number(`${intPart === '' ? '0' : intPart}.${fracPart === '' ? '0' : fracPart}`);
    total += amount * factor;
  }
  if (!Number.isFinite(total)) throw new DurationSyntaxError(value, 'out of range');
  return sign * total;
}

/** Formats milliseconds compactly for messages (`30s`, `1m`, `500ms`, `1h30m`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  if (h > 0) parts.push(`${h}h`);
  if (m > 0) parts.push(`${m}m`);
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join('');
}
