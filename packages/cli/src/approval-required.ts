/**
 * @module approval-required
 * The CLI's answer to a 403 `approval_required`: the operation is allowed by policy, but an
 * approval rule covers it and this caller holds no approved, unused grant for exactly this
 * operation and target. It says which request to file and exits 8 (ADR 0043).
 */
import { requestCommandFor } from './approval-view.ts';
import { CliError, ExitCode } from './exit-code.ts';

export function approvalRequiredError(ctx: {
  readonly spiffeId?: string;
  readonly approval?: { readonly operation: string; readonly target: string };
}): CliError {
  const who = ctx.spiffeId ?? 'this CLI';
  const what =
    ctx.approval === undefined
      ? 'This operation'
      : ctx.approval.operation === 'policy'
        ? 'Changing policies'
        : `${ctx.approval.operation} on '${ctx.approval.target}'`;
  const run =
    ctx.approval === undefined
      ? 'spike request read|write|sign|decrypt|policy <target> --reason "<why you need it>"'
      : requestCommandFor(ctx.approval.operation, ctx.approval.target);
  return new CliError(
    `Approval required: ${what} needs approval by other people first (an approval rule covers it), ` +
      `and ${who} holds no approved grant for it. Request it with: ${run} --wait ` +
      "(or without --wait, then 'spike requests show <id>'), and run this command again once it is " +
      'approved: the grant allows it once, for a limited time.',
    ExitCode.ApprovalRequired,
  );
}

/** True for the SDK's error for a 403 `approval_required` (`SpikeApprovalRequiredError`). */
export function isApprovalRequired(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'approval_required';
}
