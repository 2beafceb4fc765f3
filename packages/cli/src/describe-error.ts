/**
 * @module describe-error
 * The one place that turns a failure into what the operator reads: what went wrong, what to do
 * next, and the documented exit code. Messages never contain secret values.
 */
import { DEFAULT_NEXUS_API_URL } from '@spike-ts/protocol';
import { isSpikeError } from '@spike-ts/sdk';
import type { SpikeConnectionError } from '@spike-ts/sdk';
import { approvalRequiredError } from './approval-required.ts';
import { CliError, ExitCode } from './exit-code.ts';

export interface ErrorContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** This CLI's own SPIFFE ID, when known. */
  readonly spiffeId?: string;
  /** Message for a 404, e.g. "Secret 'a/b' not found." */
  readonly notFound?: string;
  /** Message for a bad request answered by Nexus (after local validation passed). */
  readonly badRequest?: string;
  /** Message for an internal error (e.g. decryption failures are reported as 500 by SPIKE). */
  readonly internal?: string;
  /** What the command does, for an `approval_required` refusal: the request that would allow it. */
  readonly approval?: { readonly operation: string; readonly target: string };
}

export const NOT_READY_MESSAGE =
  'SPIKE Nexus is not initialized or not ready yet. Initialize SPIKE first with SPIKE Bootstrap, ' +
  "or restore the root key from recovery shares with 'spike operator restore'. " +
  'If it is initialized and this was a write, Nexus may be refusing writes while its audit log ' +
  'aggregator is unreachable (SPIKE_NEXUS_AUDIT_SYSLOG_WHEN_DOWN=block): retry shortly.';

export function unreachableMessage(url: string, env: ErrorContext['env'], reason?: string): string {
  const configured = env['SPIKE_NEXUS_API_URL'];
  const setting =
    configured === undefined || configured.trim() === ''
      ? `SPIKE_NEXUS_API_URL is not set, so the default ${DEFAULT_NEXUS_API_URL} is used`
      : `SPIKE_NEXUS_API_URL is ${configured}`;
  return (
    `Cannot reach SPIKE Nexus at ${url}${reason === undefined ? '' : ` (${reason})`}. ` +
    `Check that SPIKE Nexus is running and that SPIKE_NEXUS_API_URL points at it (${setting}).`
  );
}

export function toCliError(err: unknown, ctx: ErrorContext): CliError {
  if (err instanceof CliError) return err;
  if (!isSpikeError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new CliError(message, ExitCode.General);
  }
  switch (err.code) {
    case 'nexus_unreachable': {
      const conn = err as SpikeConnectionError;
      if (conn.attempts.length > 0) {
        // Several Nexus URLs: the SDK's message already names every URL tried and why.
        return new CliError(
          `${conn.message} Check that SPIKE Nexus is running and that SPIKE_NEXUS_API_URL lists it ` +
            `(SPIKE_NEXUS_API_URL is ${ctx.env['SPIKE_NEXUS_API_URL'] ?? ''}).`,
          ExitCode.Unreachable,
        );
      }
      const cause: unknown = conn.cause;
      const reason = cause instanceof Error ? cause.message : undefined;
      return new CliError(unreachableMessage(conn.url, ctx.env, reason), ExitCode.Unreachable);
    }
    case 'api_not_found':
      return new CliError(ctx.notFound ?? 'Not found.', ExitCode.NotFound);
    case 'access_unauthorized':
      return new CliError(
        `Unauthorized: SPIKE Nexus denied this request for ${ctx.spiffeId ?? 'this CLI'}. ` +
          'Ask an administrator for a policy that grants this SPIFFE ID the needed permission, ' +
          'or run the command with the SPIKE Pilot role it requires.',
        ExitCode.Unauthorized,
      );
    case 'state_not_ready':
      return new CliError(NOT_READY_MESSAGE, ExitCode.NotReady);
    case 'api_bad_request': {
      const argument = (err as { argument?: unknown }).argument;
      if (err.status === 0 || typeof argument === 'string') {
        return new CliError(`Invalid input: ${err.message}`, ExitCode.General);
      }
      return new CliError(
        ctx.badRequest ??
          'SPIKE Nexus rejected the request as invalid (api_bad_request). Check the arguments.',
        ExitCode.General,
      );
    }
    case 'api_body_too_large':
      return new CliError(
        'The request is larger than SPIKE Nexus accepts (api_body_too_large).',
        ExitCode.General,
      );
    case 'api_rate_limited':
      return new CliError(
        'SPIKE Nexus is refusing requests from this SPIFFE ID for now: too many requests (api_rate_limited). ' +
          'Wait a moment and retry, or ask an administrator about SPIKE_NEXUS_RATE_LIMIT_* on SPIKE Nexus.',
        ExitCode.General,
      );
    case 'api_outcome_unknown':
      return new CliError(
        'SPIKE Nexus lost its database connection while committing this change (api_outcome_unknown): ' +
          'it may or may not have been applied, and it was not sent again. Check the current state ' +
          '(for a secret: spike secret metadata get) before trying again.',
        ExitCode.General,
      );
    case 'approval_required':
      // A policy allows it, but an approval rule covers it: exit 8 names the request to file.
      return approvalRequiredError(ctx);
    case 'api_internal_error':
      return new CliError(
        ctx.internal ??
          'SPIKE Nexus failed to handle the request (api_internal_error). Check the Nexus logs and try again.',
        ExitCode.General,
      );
    case 'unknown':
      return new CliError(err.message, ExitCode.General);
  }
}
