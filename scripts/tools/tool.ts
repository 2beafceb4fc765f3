/**
 * What a tool recipe provides (scripts/tools/<tool>.ts): its binaries, how to check their version,
 * what the machine needs to build it, and the build itself.
 */

export interface ToolBuild {
  /** Put every binary of the tool here (the folder exists and is empty). */
  readonly binDir: string;
  /** A scratch folder for sources and downloads, removed afterwards. */
  readonly workDir: string;
  /** Prints one progress line. */
  say(line: string): void;
}

export interface Tool {
  /** Folder name in the cache and the name `npm run tools:install -- <name>` accepts. */
  readonly name: string;
  readonly version: string;
  /** File names of the binaries the tool provides, all in one `bin` folder. */
  readonly binaries: readonly string[];
  /** Arguments that make a binary print its version, and what that output must match. */
  readonly versionArgs: readonly string[];
  readonly versionPattern: RegExp;
  /** The environment the binaries run in, when they need more than the caller's (a JAVA_HOME). */
  runEnv?(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** What the machine lacks to build the tool, each with what to install (empty: ready). */
  missingRequirements(env: NodeJS.ProcessEnv): Promise<string[]>;
  build(ctx: ToolBuild): Promise<void>;
}
