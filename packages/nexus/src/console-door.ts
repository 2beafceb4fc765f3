/**
 * The web console on the people listener (ADR 0038): built when the OIDC configuration has a
 * `console` block. Its logins are checked by the people listener's own token validator and its
 * every action runs through `callAsPerson`, so the console has no authority of its own.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '@spike-ts/core';
import { createConsole, createOidcRelyingParty, consoleUrls, type Console } from '@spike-ts/console';
import type { CallAsPerson } from './people/call-as-person.ts';
import type { ConsoleClientConfig } from './people/oidc-config.ts';
import type { TokenValidator } from './people/token-validator.ts';

/** Thrown when the console's client secret file cannot be read; the message names the field. */
export class ConsoleConfigError extends Error {
  override readonly name = 'ConsoleConfigError';
}

/** The console client's secret from `console.clientSecretFile`, or undefined for a public client. */
export function readConsoleClientSecret(config: ConsoleClientConfig): string | undefined {
  return config.clientSecretFile === undefined ? undefined : readSecret(config.clientSecretFile);
}

function readSecret(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConsoleConfigError(
      `console.clientSecretFile of SPIKE_NEXUS_OIDC_CONFIG cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): give the path of a file holding the console client's secret`,
    );
  }
  const secret = text.trim();
  if (secret === '')
    throw new ConsoleConfigError('console.clientSecretFile of SPIKE_NEXUS_OIDC_CONFIG is empty');
  return secret;
}

export function createNexusConsole(
  config: ConsoleClientConfig,
  clientSecret: string | undefined,
  validator: TokenValidator,
  callAsPerson: CallAsPerson,
  logger: Logger,
): Console {
  const urls = consoleUrls(config.publicBaseUrl);
  return createConsole({
    publicBaseUrl: config.publicBaseUrl,
    oidc: createOidcRelyingParty({
      issuer: config.issuer,
      clientId: config.clientId,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      redirectUri: urls.redirectUri,
      postLogoutRedirectUri: urls.postLogoutRedirectUri,
    }),
    authenticate: async (token) => {
      const result = await validator.validate(token);
      if (!result.ok) throw new Error(`token not accepted (${result.reason})`);
      return result.caller;
    },
    callAsPerson,
    log: (line) => logger.info(line),
  });
}
