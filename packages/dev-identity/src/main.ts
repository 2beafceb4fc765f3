/**
 * `spike-dev-identity` entry point: parses flags, prints the DEVELOPMENT ONLY banner, starts
 * the issuer and stops it on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import {
  DevIssuerConfigError,
  loadConfigFile,
  mergeSettings,
  parseIdentityFlag,
  parseTtl,
} from './config.ts';
import type { DevIssuerSettings } from './config.ts';
import { DevIssuerRefusedError, startDevIssuer } from './dev-issuer.ts';
import { helpText } from './help.ts';
import type { IdentityLogger } from '@spike-ts/identity';

const BANNER = `
==============================================================================
  spike-dev-identity: DEVELOPMENT ONLY — NOT FOR PRODUCTION
  Any process that can open an identity socket receives that identity.
  Use SPIRE for anything real.
==============================================================================
`;

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** JSON-lines logger on stderr; level from SPIKE_DEV_IDENTITY_LOG_LEVEL (default warn). */
function stderrLogger(levelName: string | undefined): IdentityLogger {
  const wanted = LEVELS.indexOf((levelName ?? '').toLowerCase() as (typeof LEVELS)[number]);
  const min = wanted < 0 ? 2 : wanted;
  const at =
    (index: number) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (index < min) return;
      const record = {
        time: new Date().toISOString(),
        level: LEVELS[index],
        msg,
        component: 'spike-dev-identity',
        ...fields,
      };
      process.stderr.write(
        JSON.stringify(record, (_k, v: unknown) =>
          v instanceof Error ? { name: v.name, message: v.message } : v,
        ) + '\n',
      );
    };
  return { debug: at(0), info: at(1), warn: at(2), error: at(3) };
}

function fail(message: string, code = 1): never {
  process.stderr.write(`spike-dev-identity: ${message}\n`);
  process.exit(code);
}

function settingsFromFlags(argv: string[]): { help: boolean; settings: DevIssuerSettings } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      'trust-domain': { type: 'string' },
      'state-dir': { type: 'string' },
      'socket-dir': { type: 'string' },
      'svid-ttl': { type: 'string' },
      'jwt-ttl': { type: 'string' },
      identity: { type: 'string', multiple: true },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const flags: DevIssuerSettings = {};
  if (values['trust-domain'] !== undefined) flags.trustDomain = values['trust-domain'];
  if (values['state-dir'] !== undefined) flags.stateDir = values['state-dir'];
  if (values['socket-dir'] !== undefined) flags.socketDir = values['socket-dir'];
  if (values['svid-ttl'] !== undefined) flags.svidTtlMs = parseTtl(values['svid-ttl'], '--svid-ttl');
  if (values['jwt-ttl'] !== undefined) flags.jwtTtlMs = parseTtl(values['jwt-ttl'], '--jwt-ttl');
  if (values.identity !== undefined) flags.identities = values.identity.map(parseIdentityFlag);
  const fromFile = values.config !== undefined ? loadConfigFile(values.config) : {};
  return { help: values.help === true, settings: mergeSettings(fromFile, flags) };
}

async function main(): Promise<void> {
  if (process.env['NODE_ENV'] === 'production') fail(new DevIssuerRefusedError().message, 2);
  let parsed: { help: boolean; settings: DevIssuerSettings };
  try {
    parsed = settingsFromFlags(process.argv.slice(2));
  } catch (err) {
    fail(`${(err as Error).message}\nRun spike-dev-identity --help for usage.`);
  }
  if (parsed.help) {
    process.stdout.write(helpText());
    return;
  }
  process.stderr.write(BANNER);
  const logger = stderrLogger(process.env['SPIKE_DEV_IDENTITY_LOG_LEVEL']);
  let issuer;
  try {
    issuer = await startDevIssuer({ ...parsed.settings, logger });
  } catch (err) {
    if (err instanceof DevIssuerConfigError || err instanceof DevIssuerRefusedError) fail(err.message);
    fail(`could not start: ${(err as Error).message}`);
  }
  const { config } = issuer;
  const lines = [
    `trust domain: ${config.trustDomain}`,
    `state dir:    ${config.stateDir}`,
    `bundle:       ${config.stateDir}/bundle.pem`,
    `SVID TTL:     ${Math.round(config.svidTtlMs / 1000)}s, JWT TTL: ${Math.round(config.jwtTtlMs / 1000)}s`,
    '',
    'identities:',
    ...config.identities.map(
      (i) => `  ${i.name.padEnd(14)} ${i.spiffeId}\n  ${''.padEnd(14)} ${i.socketPath}`,
    ),
    '',
    'point each process at its identity:',
    ...config.identities.map((i) => `  # ${i.name}\n  export SPIFFE_ENDPOINT_SOCKET=unix://${i.socketPath}`),
    '',
    'ready (Ctrl-C to stop)',
    '',
  ];
  process.stderr.write(lines.join('\n'));

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`spike-dev-identity: ${signal} received, stopping\n`);
    issuer.close().then(
      () => process.exit(0),
      (err: unknown) => fail(`error while stopping: ${(err as Error).message}`),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

// No top-level await: the self-contained executable bundles this module as CommonJS.
main().catch((err: unknown) =>
  fail(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`),
);
