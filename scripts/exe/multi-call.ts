/**
 * The entry point of the self-contained executable `spike-ts`: one binary for every SPIKE-TS
 * command. Started under a component's name (a hard link named `spike`, `spike-nexus`, …) it
 * runs that component; started as `spike-ts` (or under any other name) it takes the component
 * from its first argument: `spike-ts nexus`, `spike-ts spike-nexus`. A component's code is
 * evaluated only when that component runs, so `spike --version` loads the CLI alone.
 */
import { basename } from 'node:path';

export interface Component {
  /** The command name, which is also the name of its hard link (`spike-nexus`). */
  readonly name: string;
  /** One line for `spike-ts --help`. */
  readonly summary: string;
  /** Evaluates the component's main module, which reads `process.argv` and runs. */
  readonly load: () => Promise<unknown>;
}

export type Invocation =
  | { readonly kind: 'run'; readonly component: Component; readonly args: readonly string[] }
  | {
      readonly kind: 'print';
      readonly stream: 'stdout' | 'stderr';
      readonly text: string;
      readonly exitCode: number;
    };

/** `nexus` and `spike-nexus` both name `spike-nexus`; `spike` and `pilot` name the CLI. */
function find(components: readonly Component[], word: string): Component | undefined {
  const wanted = word === 'pilot' ? 'spike' : word;
  return components.find((c) => c.name === wanted || c.name === `spike-${wanted}`);
}

export function usage(components: readonly Component[], version: string): string {
  const width = Math.max(...components.map((c) => c.name.length));
  return [
    `spike-ts ${version}: every SPIKE-TS command in one executable.`,
    '',
    'Usage: spike-ts <command> [arguments...]',
    '   or: <command> [arguments...]   (through a hard link named after the command)',
    '',
    'Commands:',
    ...components.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Each command's own help: spike-ts <command> --help",
    '',
  ].join('\n');
}

/**
 * What to do for an executable started as `argv0` with `args`: run a component (with the
 * arguments it should see), or print the usage, the version or an error.
 */
export function resolveInvocation(
  argv0: string,
  args: readonly string[],
  components: readonly Component[],
  version: string,
): Invocation {
  const own = basename(argv0);
  const named = components.find((c) => c.name === own);
  if (named !== undefined) return { kind: 'run', component: named, args };
  const [first, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    return {
      kind: 'print',
      stream: first === undefined ? 'stderr' : 'stdout',
      text: usage(components, version),
      exitCode: first === undefined ? 2 : 0,
    };
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    return { kind: 'print', stream: 'stdout', text: `spike-ts ${version}\n`, exitCode: 0 };
  }
  const component = find(components, first);
  if (component !== undefined) return { kind: 'run', component, args: rest };
  return {
    kind: 'print',
    stream: 'stderr',
    text:
      `spike-ts: unknown command '${first}'. ` +
      `Commands: ${components.map((c) => c.name).join(', ')} (spike-ts --help).\n`,
    exitCode: 2,
  };
}

/** Runs the invocation of this process. */
export function runMultiCall(components: readonly Component[], version: string): void {
  const invocation = resolveInvocation(
    process.argv0,
    process.argv.slice(2),
    components,
    `${version} (Node.js ${process.version})`,
  );
  if (invocation.kind === 'print') {
    process[invocation.stream].write(invocation.text, () => process.exit(invocation.exitCode));
    return;
  }
  // The component's main reads its arguments from process.argv.slice(2), as under Node.js.
  process.argv = [process.execPath, invocation.component.name, ...invocation.args];
  invocation.component.load().catch((err: unknown) => {
    process.stderr.write(
      `${invocation.component.name}: cannot start: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  });
}
