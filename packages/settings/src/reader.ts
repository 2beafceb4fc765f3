/**
 * The one parser of the settings table. A component reads every variable it needs through one
 * `SettingsReader`, adds its cross-variable checks, then calls `done()`: if anything was
 * invalid, that throws one `SettingsError` naming every invalid variable and its rule (values
 * are never repeated). Unset or blank variables take the table's default; values are trimmed.
 */
import { RuleBroken } from './rules.ts';
import type { Setting } from './table.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface SettingsProblem {
  /** The environment variable at fault. */
  readonly variable: string;
  /** What it must be ("must be a whole number from 1 to 16"). */
  readonly rule: string;
}

/** Every invalid setting of one start, at once. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  readonly problems: readonly SettingsProblem[];
  /** The first variable at fault. */
  readonly variable: string;
  constructor(problems: readonly SettingsProblem[]) {
    if (problems.length === 0) throw new RangeError('SettingsError needs at least one problem');
    super(problems.map((p) => `${p.variable}: ${p.rule}`).join('; '));
    this.problems = Object.freeze([...problems]);
    this.variable = problems[0]?.variable ?? '';
  }
}

/** The trimmed value, or undefined when unset or blank. */
export function rawSetting(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const v = raw.trim();
  return v === '' ? undefined : v;
}

export class SettingsReader {
  readonly #env: Env;
  readonly #problems: SettingsProblem[] = [];
  readonly #bad = new Set<string>();
  readonly #cache = new Map<string, unknown>();

  constructor(env: Env) {
    this.#env = env;
  }

  /** The value, the default when unset; undefined only for a setting without a default. */
  maybe<T>(setting: Setting<T>): T | undefined {
    if (this.#cache.has(setting.name)) return this.#cache.get(setting.name) as T | undefined;
    const raw = rawSetting(this.#env, setting.name);
    let value: T | undefined;
    if (raw === undefined) {
      value = setting.default === undefined ? undefined : setting.rule.parse(setting.default);
    } else {
      try {
        value = setting.rule.parse(raw);
      } catch (err) {
        if (!(err instanceof RuleBroken)) throw err;
        this.problem(setting, err.message);
        value = setting.default === undefined ? undefined : setting.rule.parse(setting.default);
      }
    }
    this.#cache.set(setting.name, value);
    return value;
  }

  /** The value of a setting that has a default. */
  get<T>(setting: Setting<T>): T {
    if (setting.default === undefined) {
      throw new TypeError(`${setting.name} has no default: read it with maybe()`);
    }
    return this.maybe(setting) as T;
  }

  /** Whether the variable was set (not blank) and valid. */
  isSet(setting: Setting<unknown>): boolean {
    this.maybe(setting);
    return rawSetting(this.#env, setting.name) !== undefined && this.valid(setting);
  }

  /** False once a problem was recorded for the variable. */
  valid(setting: Setting<unknown>): boolean {
    return !this.#bad.has(setting.name);
  }

  /** Records a problem (first one per variable wins). */
  problem(setting: Setting<unknown>, rule: string): void {
    if (this.#bad.has(setting.name)) return;
    this.#bad.add(setting.name);
    this.#problems.push({ variable: setting.name, rule });
  }

  /**
   * A cross-variable condition: when `ok` is false, `setting` gets the problem `rule` — unless
   * one of the settings involved is already invalid (its default would make the check noise).
   */
  require(
    ok: boolean,
    setting: Setting<unknown>,
    rule: string,
    involved: readonly Setting<unknown>[] = [],
  ): void {
    if (ok) return;
    if (!this.valid(setting) || involved.some((s) => !this.valid(s))) return;
    this.problem(setting, rule);
  }

  get problems(): readonly SettingsProblem[] {
    return this.#problems;
  }

  /** Throws one `SettingsError` listing every problem, if there is any. */
  done(): void {
    if (this.#problems.length > 0) throw new SettingsError(this.#problems);
  }
}

/** Reads one setting alone; an invalid value throws `SettingsError` naming it. */
export function readSetting<T>(env: Env, setting: Setting<T>): T {
  const reader = new SettingsReader(env);
  const value = reader.get(setting);
  reader.done();
  return value;
}

/** Reads one setting without a default alone: undefined when unset. */
export function readOptionalSetting<T>(env: Env, setting: Setting<T>): T | undefined {
  const reader = new SettingsReader(env);
  const value = reader.maybe(setting);
  reader.done();
  return value;
}

/** Checks one value against a setting's rule (for values that reach us another way, e.g. flags). */
export function checkSettingValue<T>(setting: Setting<T>, value: string): T {
  const reader = new SettingsReader({ [setting.name]: value });
  const parsed = reader.maybe(setting);
  if (parsed === undefined) reader.problem(setting, setting.rule.text);
  reader.done();
  return parsed as T;
}
