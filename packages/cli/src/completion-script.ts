/**
 * @module completion-script
 * Shell completion scripts for bash, zsh and fish, generated from the commander command tree,
 * so a new command or option is completed without touching this file.
 */
import type { Command } from 'commander';

export type CompletionShell = 'bash' | 'zsh' | 'fish';
export const COMPLETION_SHELLS: readonly CompletionShell[] = ['bash', 'zsh', 'fish'];

interface Node {
  /** Space-joined command path below the root ('' = root). */
  path: string;
  subcommands: { name: string; description: string }[];
  options: { long?: string; short?: string; description: string; takesValue: boolean }[];
}

function collect(cmd: Command, path: string, out: Node[]): void {
  const visible = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
  out.push({
    path,
    subcommands: visible.map((c) => ({ name: c.name(), description: c.description() })),
    options: [
      ...cmd.options.map((o) => ({
        ...(o.long === undefined ? {} : { long: o.long }),
        ...(o.short === undefined ? {} : { short: o.short }),
        description: o.description,
        takesValue: o.required || o.optional,
      })),
      { long: '--help', short: '-h', description: 'display help', takesValue: false },
    ],
  });
  for (const c of visible) collect(c, path === '' ? c.name() : `${path} ${c.name()}`, out);
}

/** Generate the completion script for `shell` from `program`. */
export function completionScript(program: Command, shell: CompletionShell): string {
  const nodes: Node[] = [];
  collect(program, '', nodes);
  const name = program.name();
  switch (shell) {
    case 'bash':
      return bashScript(name, nodes);
    case 'zsh':
      return zshScript(name, nodes);
    case 'fish':
      return fishScript(name, nodes);
  }
}

function words(node: Node): string {
  const opts = node.options.flatMap((o) => [o.long, o.short].filter((x): x is string => x !== undefined));
  return [...node.subcommands.map((s) => s.name), ...opts].join(' ');
}

function fnName(name: string): string {
  return `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The shared path-tracking loop: extend the path only with words that name a known command. */
function knownPaths(nodes: readonly Node[]): string {
  return nodes
    .filter((n) => n.path !== '')
    .map((n) => `"${n.path}"`)
    .join('|');
}

function bashScript(name: string, nodes: readonly Node[]): string {
  const fn = fnName(name) + '_completion';
  const cases = nodes.map((n) => `    "${n.path}") opts="${words(n)}" ;;`).join('\n');
  return `# bash completion for ${name}; load with: source <(${name} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" spath="" w i opts=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "\${spath:+$spath }$w" in
      ${knownPaths(nodes)}) spath="\${spath:+$spath }$w" ;;
    esac
  done
  case "$spath" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F ${fn} ${name}
`;
}

function zshScript(name: string, nodes: readonly Node[]): string {
  const fn = fnName(name);
  const q = (s: string) => s.replace(/[:\\]/g, '\\$&').replace(/'/g, `'\\''`);
  const cases = nodes
    .map((n) => {
      const items = [
        ...n.subcommands.map((s) => `'${q(s.name)}:${q(s.description)}'`),
        ...n.options.flatMap((o) =>
          [o.long, o.short]
            .filter((x): x is string => x !== undefined)
            .map((f) => `'${q(f)}:${q(o.description)}'`),
        ),
      ];
      return `    ("${n.path}") items=(${items.join(' ')}) ;;`;
    })
    .join('\n');
  return `#compdef ${name}
# zsh completion for ${name}; load with: source <(${name} completion zsh)
${fn}() {
  local -a items
  local spath="" w i
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    case "\${spath:+$spath }$w" in
      (${knownPaths(nodes)}) spath="\${spath:+$spath }$w" ;;
    esac
  done
  case "$spath" in
${cases}
  esac
  _describe -t commands '${name}' items
}
compdef ${fn} ${name}
`;
}

function fishScript(name: string, nodes: readonly Node[]): string {
  const fn = `__${name.replace(/[^A-Za-z0-9_]/g, '_')}_at`;
  const q = (s: string) => `'${s.replace(/[\\']/g, '\\$&')}'`;
  const lines: string[] = [
    `# fish completion for ${name}; load with: ${name} completion fish | source`,
    `function ${fn}`,
    '    set -l spath ""',
    '    set -l toks (commandline -opc)',
    '    set -e toks[1]',
    '    for t in $toks',
    `        set -l next (string trim -- "$spath $t")`,
    `        if contains -- $next ${nodes
      .filter((n) => n.path !== '')
      .map((n) => q(n.path))
      .join(' ')}`,
    '            set spath $next',
    '        end',
    '    end',
    '    test "$spath" = "$argv[1]"',
    'end',
    `complete -c ${name} -f`,
  ];
  for (const n of nodes) {
    const cond = `-n ${q(`${fn} ${q(n.path)}`)}`;
    for (const s of n.subcommands)
      lines.push(`complete -c ${name} ${cond} -a ${q(s.name)} -d ${q(s.description)}`);
    for (const o of n.options) {
      const flags = [
        o.long === undefined ? '' : `-l ${o.long.replace(/^--/, '')}`,
        o.short === undefined ? '' : `-s ${o.short.replace(/^-/, '')}`,
      ]
        .filter((x) => x !== '')
        .join(' ');
      lines.push(`complete -c ${name} ${cond} ${flags}${o.takesValue ? ' -r' : ''} -d ${q(o.description)}`);
    }
  }
  return lines.join('\n') + '\n';
}
