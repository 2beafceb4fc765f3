/**
 * @module command/login-command
 * `spike login`, `spike logout` and `spike whoami` (ADR 0037): a person logs in at the OpenID
 * provider (device grant by default, or the code flow with PKCE and a loopback redirect with
 * `--browser`), the tokens go to the per-user login cache, and every command then uses Nexus's
 * people listener when no Workload API socket is set.
 */
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { CliError, ExitCode } from '../exit-code.ts';
import { withNexus } from '../nexus-session.ts';

interface LoginFlags {
  issuer?: string;
  clientId?: string;
  peopleUrl?: string;
  caFile?: string;
  browser?: boolean;
  device?: boolean;
  port?: string;
}

const LOGIN_HELP = `
Environment:
  SPIKE_OIDC_ISSUER      OpenID Connect issuer URL (or --issuer)
  SPIKE_OIDC_CLIENT_ID   the CLI's public client ID (default spike-cli)
  SPIKE_PEOPLE_URL       Nexus people listener URL (or --people-url)
  SPIKE_PEOPLE_CA_FILE   CA file for the people listener's certificate (or --ca-file)

The device login prints a URL and a code to enter in any browser (works over SSH). --browser uses
the code flow with PKCE: it prints a URL to open on this computer and waits for the redirect to
http://127.0.0.1:<port>/callback. Tokens are kept in ~/.config/spike/login.json (mode 0600;
$XDG_CONFIG_HOME/spike when set). With SPIFFE_ENDPOINT_SOCKET unset, every command then talks to
the people listener as you.
`;

function pick(flag: string | undefined, env: CliIo['env'], name: string): string | undefined {
  const v = flag?.trim() || env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export function registerLoginCommands(program: Command, io: CliIo): void {
  program
    .command('login')
    .description('log in as a person through OpenID Connect (device grant, or --browser)')
    .option('--issuer <url>', 'OpenID Connect issuer URL (default SPIKE_OIDC_ISSUER)')
    .option('--client-id <id>', 'client ID at the issuer (default SPIKE_OIDC_CLIENT_ID or spike-cli)')
    .option('--people-url <url>', 'Nexus people listener URL (default SPIKE_PEOPLE_URL)')
    .option(
      '--ca-file <file>',
      "CA file for the people listener's certificate (default SPIKE_PEOPLE_CA_FILE)",
    )
    .option('--browser', 'authorization-code flow with PKCE and a loopback redirect (desktops)')
    .option('--device', 'device authorization grant (the default; works over SSH)')
    .option('--port <port>', 'loopback port for --browser (default: any free port)')
    .addHelpText('after', LOGIN_HELP)
    .action(async (flags: LoginFlags) => {
      const issuer = pick(flags.issuer, io.env, 'SPIKE_OIDC_ISSUER');
      if (issuer === undefined) {
        throw new CliError('No OpenID provider: set SPIKE_OIDC_ISSUER or pass --issuer URL.', ExitCode.Usage);
      }
      const clientId = pick(flags.clientId, io.env, 'SPIKE_OIDC_CLIENT_ID') ?? 'spike-cli';
      const peopleUrlRaw = pick(flags.peopleUrl, io.env, 'SPIKE_PEOPLE_URL');
      if (peopleUrlRaw === undefined) {
        throw new CliError(
          'No people listener URL: set SPIKE_PEOPLE_URL or pass --people-url URL (the https:// address of Nexus for people).',
          ExitCode.Usage,
        );
      }
      const { resolvePeopleUrl } = await import('@spike-ts/sdk');
      let peopleUrl: string;
      try {
        peopleUrl = resolvePeopleUrl(peopleUrlRaw);
      } catch (err) {
        throw new CliError((err as Error).message, ExitCode.Usage);
      }
      const caFile = pick(flags.caFile, io.env, 'SPIKE_PEOPLE_CA_FILE');
      if (flags.browser === true && flags.device === true) {
        throw new CliError('Choose one of --browser and --device.', ExitCode.Usage);
      }
      let port: number | undefined;
      if (flags.port !== undefined) {
        port = Number(flags.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          throw new CliError(`--port must be a port number (1..65535), not '${flags.port}'.`, ExitCode.Usage);
        }
      }
      const { browserLogin, deviceLogin } = await import('../login/oidc-flows.ts');
      const say = (line: string): void => void io.stderr.write(`${line}\n`);
      const target = { issuer, clientId };
      const tokens =
        flags.browser === true
          ? await browserLogin(target, say, port === undefined ? {} : { port })
          : await deviceLogin(target, say);
      const { writeLogin } = await import('../login/token-cache.ts');
      const file = await writeLogin(io.env, {
        v: 1,
        issuer,
        clientId,
        peopleUrl,
        ...(caFile === undefined ? {} : { peopleCaFile: caFile }),
        accessToken: tokens.accessToken,
        expiresAt: tokens.expiresAt,
        ...(tokens.refreshToken === undefined ? {} : { refreshToken: tokens.refreshToken }),
        ...(tokens.idToken === undefined ? {} : { idToken: tokens.idToken }),
        ...(tokens.user === undefined ? {} : { user: tokens.user }),
      });
      io.stdout.write(
        `Logged in${tokens.user === undefined ? '' : ` as ${tokens.user}`} at ${issuer}; tokens kept in ${file}.\n`,
      );
    });

  program
    .command('logout')
    .description('end the login: revoke it at the OpenID provider and remove the cached tokens')
    .action(async () => {
      const { readLogin, removeLogin, loginFile } = await import('../login/token-cache.ts');
      let login;
      try {
        login = await readLogin(io.env);
      } catch (err) {
        // An unsafe or damaged cache is removed all the same (nothing in it is used).
        await removeLogin(io.env);
        io.stdout.write(`Removed ${loginFile(io.env)} (${(err as Error).message}).\n`);
        return;
      }
      if (login === undefined) {
        io.stdout.write('Not logged in.\n');
        return;
      }
      let done: string[] = [];
      try {
        const { endLogin } = await import('../login/oidc-flows.ts');
        done = await endLogin(
          { issuer: login.issuer, clientId: login.clientId },
          {
            ...(login.refreshToken === undefined ? {} : { refreshToken: login.refreshToken }),
            ...(login.idToken === undefined ? {} : { idToken: login.idToken }),
          },
        );
      } catch (err) {
        io.stderr.write(`Warning: could not end the session at ${login.issuer}: ${(err as Error).message}\n`);
      }
      await removeLogin(io.env);
      io.stdout.write(
        `Logged out${login.user === undefined ? '' : ` ${login.user}`}` +
          `${done.length === 0 ? '' : ` (${done.join(', ')})`}; removed ${loginFile(io.env)}.\n`,
      );
    });

  program
    .command('whoami')
    .description('print who SPIKE Nexus takes you for: principal, groups or SPIFFE ID, role, and the Nexus')
    .action(async () => {
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const me = await client.whoami();
          const lines = [
            `Principal: ${me.principal}`,
            `Kind:      ${me.kind}`,
            ...(me.kind === 'person'
              ? [`Groups:    ${me.groups.length === 0 ? '(none)' : me.groups.join(', ')}`]
              : []),
            `Role:      ${me.role}`,
            `Door:      ${me.door}`,
            `Nexus:     ${client.nexusUrl}${me.nexusVersion === '' ? '' : ` (version ${me.nexusVersion})`}`,
          ];
          io.stdout.write(`${lines.join('\n')}\n`);
        },
        { notFound: 'This SPIKE Nexus has no whoami route (it is older than this CLI).' },
      );
    });
}
