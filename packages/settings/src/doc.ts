/**
 * Renders `docs/configuration.md` from the settings table (`npm run docs:config` writes it; a
 * test fails when the committed file differs), so the docs cannot drift from the code.
 */
import { COMPONENTS, SETTINGS, type Component, type Setting } from './table.ts';

const SECTION_TITLE: Readonly<Record<Component, string>> = {
  nexus: 'Nexus (`spike-nexus`)',
  keeper: 'Keeper (`spike-keeper`)',
  bootstrap: 'Bootstrap (`spike-bootstrap`)',
  cli: 'CLI (`spike`) and SDK (`@spike-ts/sdk`)',
  sdk: 'CLI (`spike`) and SDK (`@spike-ts/sdk`)',
};

const READER_NAME: Readonly<Record<Component, string>> = {
  nexus: 'Nexus',
  keeper: 'keeper',
  bootstrap: 'bootstrap',
  cli: 'CLI',
  sdk: 'SDK',
};

const INTRO = `# Configuration

<!-- Generated from packages/settings/src/table.ts by \`npm run docs:config\`; do not edit by hand. -->

Every component is configured by environment variables only (servers take no config file; the
bootstrap and the dev issuer also take a few flags). SPIKE's variables keep SPIKE 0.8.2's names
and defaults; the ones we added are marked **ours**. All of them are defined once, in the
settings table of \`@spike-ts/settings\`, and every component reads them through the same parser
([ADR 0015](adr/0015-one-settings-table.md)), so a variable follows the same rule wherever it is
read.

**Validation.** Unlike SPIKE, which silently falls back to the default on an invalid value,
every component refuses an invalid value with one error that names **every** invalid variable
and its rule (never the value). Servers exit with code 2
(\`spike-nexus: invalid configuration: SPIKE_NEXUS_SHAMIR_THRESHOLD: must not be greater than
SPIKE_NEXUS_SHAMIR_SHARES; SPIKE_NEXUS_API_THREADS: must be auto or a whole number from 1 to 16\`). A
variable that is unset or blank takes its default; values are trimmed.

**Durations** use Go syntax: \`500ms\`, \`30s\`, \`5m\`, \`1h30m\`, \`1.5h\` (units \`ns\`, \`us\`, \`ms\`, \`s\`,
\`m\`, \`h\`). **Listen addresses** are \`:port\`, \`port\`, \`host:port\` or \`[ipv6]:port\`; port 0 picks a
free port; no host means all interfaces.
`;

const SHARED_NOTE = `
Every component parses all five trust-root variables, so an invalid one stops any of them. Which
roles matter: Nexus all five; keeper its own (\`KEEPER\`) and its peers (\`NEXUS\`, \`BOOTSTRAP\`);
bootstrap \`BOOTSTRAP\`, \`KEEPER\`, \`NEXUS\`; CLI \`PILOT\` and \`NEXUS\`; SDK \`NEXUS\`.
`;

const SECTION_NOTE: Readonly<Partial<Record<Component, string>>> = {
  nexus: `
Nexus also reads the [shared variables](#shared-by-every-component). Its own SVID must be a
Nexus ID, or it exits 1.
`,
  keeper: `
Plus the shared variables. Fixed: request timeout 30 s, keep-alive 5 s, TLS handshake 10 s, at
most 256 connections at once, body limit 4 KiB. The header and request timeouts hold to within a
second. The keeper has no storage and no other settings (as SPIKE).
`,
  bootstrap: `
Plus the shared variables. Flags: \`-init\`/\`--init\` (accepted for SPIKE compatibility, no
effect), \`--force\`, \`-h\`/\`--help\`. Progress goes to stderr. SPIKE's
\`SPIKE_BOOTSTRAP_CONFIGMAP_NAME\` is not read: the live-system check replaces SPIKE's Kubernetes
ConfigMap marker ([ADR 0010](adr/0010-bootstrap-live-system-detection.md)).
`,
  cli: `
Plus \`SPIFFE_ENDPOINT_SOCKET\`, \`SPIKE_SPIFFE_SOURCE_TIMEOUT\`, \`SPIKE_TRUST_ROOT_PILOT\` (the CLI's
own role) and \`SPIKE_TRUST_ROOT_NEXUS\` (which server to accept). SDK options override the
variables ([sdk.md](sdk.md#options)); an invalid variable makes the SDK throw
\`SpikeBadRequestError\` and the CLI exit 1.
`,
};

/** SPIKE variables we deliberately do not read (the docs list them with the reason). */
export const SPIKE_VARIABLES_NOT_READ: readonly string[] = Object.freeze([
  'SPIKE_TRUST_ROOT',
  'SPIKE_NEXUS_RECOVERY_MAX_INTERVAL',
  'SPIKE_NEXUS_PBKDF2_ITERATION_COUNT',
  'SPIKE_BANNER_ENABLED',
  'SPIKE_STACK_TRACES_ON_LOG_FATAL',
  'SPIKE_PILOT_SHOW_MEMORY_WARNING',
  'SPIKE_HTTP_CLIENT_DIALER_TIMEOUT',
  'SPIKE_BOOTSTRAP_CONFIGMAP_NAME',
]);

const OUTRO = `
## Dev identity issuer (\`spike-dev-identity\`, development only)

| Variable / flag | Default | Meaning | Origin |
|---|---|---|---|
| \`NODE_ENV\` | — | \`production\` makes the issuer refuse to start (exit 2) | ours |
| \`SPIKE_DEV_IDENTITY_LOG_LEVEL\` | \`warn\` | \`debug\`, \`info\`, \`warn\`, \`error\`; JSON lines on stderr | ours |
| \`--trust-domain\` | \`spike.ist\` | Trust domain of every identity | ours |
| \`--state-dir\` | \`./.dev-identity\` | CA, JWT key, \`bundle.pem\` (0700, keys 0600) | ours |
| \`--socket-dir\` | \`<state-dir>/sockets\` | One socket per identity (0600 in a 0700 directory); keep the path short | ours |
| \`--svid-ttl\` / \`--jwt-ttl\` | \`1h\` / \`5m\` | SVID lifetimes (Go durations) | ours |
| \`--identity name=spiffe://…\` | the default set | Replaces the default identities; repeatable | ours |
| \`--config file.json\` | — | Same settings as JSON; flags win | ours |

See [identity.md](identity.md#the-dev-identity-issuer-spike-dev-identity) and
\`spike-dev-identity --help\`.

## SPIKE variables we do not read

| Variable | In SPIKE | Here |
|---|---|---|
| \`SPIKE_TRUST_ROOT\` | only logged | ignored |
| \`SPIKE_NEXUS_RECOVERY_MAX_INTERVAL\`, \`SPIKE_NEXUS_PBKDF2_ITERATION_COUNT\` | documented, unused | ignored; recovery backoff is 500 ms doubling to 60 s |
| \`SPIKE_BANNER_ENABLED\`, \`SPIKE_STACK_TRACES_ON_LOG_FATAL\` | start-up banner, panics | ignored (no banner) |
| \`SPIKE_PILOT_SHOW_MEMORY_WARNING\` | mlock warning | ignored: Node.js cannot \`mlockall\` (see [security-model.md](security-model.md#memory-handling)) |
| \`SPIKE_HTTP_CLIENT_DIALER_TIMEOUT\`, \`…_DIALER_KEEP_ALIVE\`, \`…_TLS_HANDSHAKE_TIMEOUT\`, \`…_RESPONSE_HEADER_TIMEOUT\`, \`…_EXPECT_CONTINUE_TIMEOUT\`, \`…_IDLE_CONN_TIMEOUT\`, \`…_MAX_IDLE_CONNS\`, \`…_MAX_IDLE_CONNS_PER_HOST\`, \`…_MAX_CONNS_PER_HOST\` | Go HTTP client tuning | ignored; only \`SPIKE_HTTP_CLIENT_TIMEOUT\` applies |
| \`SPIKE_BOOTSTRAP_CONFIGMAP_NAME\`, \`HOSTNAME\` | Kubernetes "bootstrap done" marker | ignored (live-system check instead) |

## Example: a three-keeper deployment

\`\`\`sh
# every keeper
SPIFFE_ENDPOINT_SOCKET=unix:///run/spire/agent.sock SPIKE_KEEPER_TLS_PORT=:8443 spike-keeper

# Nexus
SPIFFE_ENDPOINT_SOCKET=unix:///run/spire/agent.sock \\
SPIKE_NEXUS_KEEPER_PEERS=https://keeper-1:8443,https://keeper-2:8443,https://keeper-3:8443 \\
SPIKE_NEXUS_DATA_DIR=/var/lib/spike \\
SPIKE_NEXUS_HEALTH_ADDR=127.0.0.1:8554 \\
SPIKE_NEXUS_AUDIT_LOG=/var/log/spike/audit.jsonl \\
spike-nexus

# once
SPIFFE_ENDPOINT_SOCKET=unix:///run/spire/agent.sock \\
SPIKE_NEXUS_KEEPER_PEERS=https://keeper-1:8443,https://keeper-2:8443,https://keeper-3:8443 \\
SPIKE_NEXUS_API_URL=https://nexus:8553 \\
spike-bootstrap
\`\`\`
`;

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function isShared(s: Setting<unknown>): boolean {
  return COMPONENTS.every((c) => s.readers.includes(c));
}

function row(s: Setting<unknown>): string {
  const def = s.defaultDoc ?? (s.default === undefined ? '—' : s.default);
  const rule = s.also === undefined ? s.rule.text : `${s.rule.text}; ${s.also}`;
  const readBy = isShared(s) ? 'all' : s.readers.map((r) => READER_NAME[r]).join(', ');
  const defCell = def === '—' ? def : `\`${def}\``;
  return `| \`${s.name}\` | ${cell(defCell)} | ${cell(s.doc)} | ${cell(rule)} | ${readBy} | ${s.origin} |`;
}

function table(settings: readonly Setting<unknown>[]): string {
  const head = '| Variable | Default | Meaning | Rule | Read by | Origin |\n|---|---|---|---|---|---|';
  return [head, ...settings.map((s) => row(s))].join('\n');
}

/** The full text of `docs/configuration.md`. */
export function renderConfigurationDoc(): string {
  const parts: string[] = [INTRO];
  parts.push('\n## Shared by every component\n\n');
  parts.push(table(SETTINGS.filter(isShared)) + '\n');
  parts.push(SHARED_NOTE);
  const sections: (readonly Component[])[] = [['nexus'], ['keeper'], ['bootstrap'], ['cli', 'sdk']];
  for (const section of sections) {
    const first = section[0] ?? 'nexus';
    const rows = SETTINGS.filter((s) => !isShared(s) && section.some((c) => s.readers.includes(c)));
    parts.push(`\n## ${SECTION_TITLE[first]}\n\n`);
    parts.push(table(rows) + '\n');
    const note = SECTION_NOTE[first];
    if (note !== undefined) parts.push(note);
  }
  parts.push(OUTRO);
  return parts.join('');
}
