/**
 * @module server-args
 * The command line of the long-running servers (`spike-nexus`, `spike-keeper`): they are
 * configured by the environment only, so the command line takes `--help` and `--version` and
 * refuses everything else. Each server's main calls this before reading its configuration.
 */

export interface ServerArgsInfo {
  /** The binary name, e.g. `spike-keeper`. */
  readonly name: string;
  readonly version: string;
  /** The full `--help` text, ending in a newline. */
  readonly help: string;
}

/** What main should do before anything else: nothing (`undefined`), or print and exit. */
export interface ServerArgsOutcome {
  readonly exitCode: 0 | 2;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export function serverArgs(argv: readonly string[], info: ServerArgsInfo): ServerArgsOutcome | undefined {
  if (argv.length === 0) return undefined;
  const [first] = argv;
  if (argv.length === 1 && (first === '--help' || first === '-h' || first === '-help' || first === 'help')) {
    return { exitCode: 0, stream: 'stdout', text: info.help };
  }
  if (
    argv.length === 1 &&
    (first === '--version' || first === '-v' || first === '-version' || first === 'version')
  ) {
    return { exitCode: 0, stream: 'stdout', text: `${info.name} ${info.version}\n` };
  }
  const shown = argv.map((a) => JSON.stringify(a.length > 80 ? a.slice(0, 77) + '...' : a)).join(' ');
  return {
    exitCode: 2,
    stream: 'stderr',
    text:
      `${info.name}: unexpected argument(s) ${shown}. ${info.name} is configured through environment ` +
      `variables only; it takes --help or --version. Run '${info.name} --help'.\n`,
  };
}
