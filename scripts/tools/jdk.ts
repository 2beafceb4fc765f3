/**
 * Finds a Java runtime for tools that run on the JVM (Keycloak): `JAVA_HOME` when it names a JDK
 * of the required major version or newer, else the newest such JDK under `/usr/lib/jvm`. A JDK is
 * recognised by its `release` file (`JAVA_VERSION="25.0.3"`) and an executable `bin/java`, so
 * nothing is started to find one. Synchronous on purpose: the tools installer's version check is.
 */
import { accessSync, constants, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/** Where Debian/Ubuntu (and the Temurin packages) install JDKs. */
export const JVM_DIRS: readonly string[] = ['/usr/lib/jvm'];

export interface Jdk {
  readonly home: string;
  readonly major: number;
  readonly version: string;
}

export interface JdkSearch {
  /** The JDK to use, or undefined when none qualifies. */
  readonly jdk?: Jdk;
  /** What was looked at and why it did not qualify (for the error message). */
  readonly rejected: readonly string[];
}

/** `JAVA_VERSION="25.0.3"` -> 25; `"1.8.0_412"` -> 8; undefined when the text has no version. */
export function javaMajor(release: string): number | undefined {
  const m = /^JAVA_VERSION="([^"]+)"/m.exec(release);
  if (m === null) return undefined;
  const parts = m[1]!.split(/[._+-]/);
  const first = Number(parts[0]);
  if (!Number.isInteger(first)) return undefined;
  return first === 1 ? Number(parts[1]) : first;
}

/** The JDK at `home`, or why it is not one. */
function inspect(home: string): Jdk | string {
  let release: string;
  try {
    release = readFileSync(join(home, 'release'), 'utf8');
  } catch {
    return 'no release file (not a JDK home)';
  }
  const major = javaMajor(release);
  if (major === undefined || !Number.isFinite(major)) return 'release file names no JAVA_VERSION';
  try {
    accessSync(join(home, 'bin', 'java'), constants.X_OK);
  } catch {
    return `Java ${String(major)} but bin/java is missing or not executable`;
  }
  const version = /^JAVA_VERSION="([^"]+)"/m.exec(release)![1]!;
  return { home, major, version };
}

/** Finds a JDK of major version `min` or newer: `JAVA_HOME` first, then the newest in `dirs`. */
export function findJdk(env: NodeJS.ProcessEnv, min: number, dirs: readonly string[] = JVM_DIRS): JdkSearch {
  const rejected: string[] = [];
  const javaHome = env.JAVA_HOME?.trim();
  if (javaHome !== undefined && javaHome !== '') {
    const found = inspect(javaHome);
    if (typeof found !== 'string' && found.major >= min) return { jdk: found, rejected };
    rejected.push(
      `JAVA_HOME=${javaHome}: ${typeof found === 'string' ? found : `Java ${String(found.major)}`}`,
    );
  } else {
    rejected.push('JAVA_HOME: not set');
  }
  const seen = new Set<string>();
  const candidates: Jdk[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      rejected.push(`${dir}: no such folder`);
      continue;
    }
    for (const name of names) {
      const home = join(dir, name);
      let real: string;
      try {
        real = realpathSync(home);
      } catch {
        continue;
      }
      if (seen.has(real)) continue;
      seen.add(real);
      const found = inspect(home);
      if (typeof found === 'string') continue; // not a JDK folder (e.g. a .jinfo file)
      if (found.major >= min) candidates.push(found);
      else rejected.push(`${home}: Java ${String(found.major)}`);
    }
  }
  candidates.sort((a, b) => b.major - a.major);
  const best = candidates[0];
  return best === undefined ? { rejected } : { jdk: best, rejected };
}

/** One sentence naming what was looked for and where, for errors. */
export function noJdkMessage(min: number, search: JdkSearch, dirs: readonly string[] = JVM_DIRS): string {
  return (
    `a JDK ${String(min)} or newer (looked at JAVA_HOME, then ${dirs.map((d) => `${d}/*`).join(', ')}: ` +
    `${search.rejected.join('; ')}); install one (Debian/Ubuntu: apt-get install openjdk-${String(min)}-jdk-headless, ` +
    `or an Eclipse Temurin package) or set JAVA_HOME to it`
  );
}
