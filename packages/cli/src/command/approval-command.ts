/**
 * @module approval-command
 * Multi-party approval (ours, ADR 0043): `spike request read|write|sign|decrypt|policy` files a
 * request with a reason (and with `--wait` follows it until it is decided), `spike approve` and
 * `spike deny` decide one (people only), `spike requests list|show|cancel` look at them. The
 * requester then runs the operation itself once; Nexus uses the grant up.
 */
import type { Command } from 'commander';
import type { ApprovalMethods, SpikeClient } from '@spike-ts/sdk';
import {
  commentArg,
  durationSecondsArg,
  formatSeconds,
  reasonArg,
  requestIdArg,
  statusArg,
  type ApprovalOperation,
  type ApprovalStatus,
} from '../approval-args.ts';
import {
  commandFor,
  progressText,
  renderRequest,
  renderRequestTable,
  targetText,
  utc,
  type ApprovalMark,
  type RequestView,
} from '../approval-view.ts';
import type { CliIo } from '../cli-io.ts';
import { keyNameArg, secretPathArg, shown } from '../cli-args.ts';
import { CliError, ExitCode, usageError } from '../exit-code.ts';
import { withNexus, type NexusCall } from '../nexus-session.ts';

function approvalsOf(client: SpikeClient): ApprovalMethods {
  return client.approvals;
}

/** How often `--wait` asks by default, and how often it says it is still waiting. */
const DEFAULT_INTERVAL_SECONDS = 2;
const HEARTBEAT_MS = 60_000;

const OPERATIONS: readonly {
  readonly operation: ApprovalOperation;
  readonly target?: string;
  readonly about: string;
}[] = [
  {
    operation: 'read',
    target: '<path>',
    about: "read a secret's value once (spike secret get, run, export)",
  },
  { operation: 'write', target: '<path>', about: 'write, delete or undelete a secret once' },
  { operation: 'sign', target: '<key>', about: 'sign once with a named key (spike sign)' },
  {
    operation: 'decrypt',
    target: '<key>',
    about: 'decrypt once with a named backup key (spike key decrypt)',
  },
  { operation: 'policy', about: 'change policies once (spike policy create, apply or delete)' },
];

/** A pause of `--wait` (a referenced timer: it keeps the process alive while nothing else does). */
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

function code(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** The person or workload this command runs as, as Nexus names it. */
async function me(call: NexusCall): Promise<string> {
  if (call.door === 'mtls') return call.spiffeId;
  try {
    return (await call.client.whoami()).principal;
  } catch {
    return call.spiffeId;
  }
}

const notVisible = (id: string): CliError =>
  new CliError(
    `No request '${shown(id)}' that you may see: it does not exist, was pruned after it ended, or you neither ` +
      "filed it nor may approve it. See 'spike requests list'.",
    ExitCode.NotFound,
  );

/**
 * Why Nexus refused to approve, deny or cancel: asks for the request and compares it with the
 * caller, so the message says what is wrong (own request, already decided, not pending, not an
 * approver) rather than only the wire code.
 */
async function explainRefusal(
  call: NexusCall,
  id: string,
  verb: 'approve' | 'deny' | 'cancel',
  err: unknown,
): Promise<unknown> {
  const wire = code(err);
  if (wire === 'api_not_found') return notVisible(id);
  if (wire !== 'api_bad_request' && wire !== 'access_unauthorized') return err;
  let view: RequestView;
  try {
    view = await approvalsOf(call.client).get(id);
  } catch (e) {
    if (code(e) === 'api_not_found') return notVisible(id);
    return err;
  }
  const principal = await me(call);
  const mine = (marks: readonly ApprovalMark[]) => marks.some((m) => m.principal === principal);
  if (view.status !== 'pending') {
    const when =
      view.status === 'expired'
        ? ` (it expired at ${utc(view.expiresAt)}; the requester files a new one)`
        : view.status === 'approved'
          ? ` (approved: the grant is usable until ${utc(view.grantExpiresAt)})`
          : '';
    return new CliError(
      `Request ${id} is ${view.status}, no longer pending${when}: nothing to ${verb}.`,
      ExitCode.General,
    );
  }
  if (verb === 'cancel') {
    return new CliError(
      `Only the requester (${view.requester}) cancels request ${id}; you are ${principal}.`,
      ExitCode.Unauthorized,
    );
  }
  if (view.requester === principal) {
    return new CliError(
      `You cannot ${verb} your own request ${id}: it needs ${String(view.required)} approval(s) by people ` +
        `other than the requester. Ask an approver to run 'spike approve ${id}'.`,
      ExitCode.General,
    );
  }
  if (mine(view.approvals) || mine(view.denials)) {
    return new CliError(
      `You (${principal}) already ${mine(view.approvals) ? 'approved' : 'denied'} request ${id}: each approver counts once.`,
      ExitCode.General,
    );
  }
  return new CliError(
    `You (${principal}) may not ${verb} request ${id}: no approval rule covering ${view.operation} on ` +
      `'${shown(targetText(view.operation, view.target))}' names you or one of your groups.`,
    ExitCode.Unauthorized,
  );
}

/** Approvers are people: a decision through the SVID (workload door) is refused before sending. */
function requirePeopleDoor(io: CliIo, verb: string): void {
  const socket = io.env['SPIFFE_ENDPOINT_SOCKET'];
  if (socket !== undefined && socket.trim() !== '') {
    throw new CliError(
      `Only people ${verb} requests, and SPIFFE_ENDPOINT_SOCKET is set, so this CLI would act as its SVID ` +
        "(a workload). Unset SPIFFE_ENDPOINT_SOCKET and log in with 'spike login', then run it again.",
      ExitCode.Unauthorized,
    );
  }
}

function describeOutcome(v: RequestView): string {
  switch (v.status) {
    case 'approved':
      return (
        `Request ${v.id} is approved (${progressText(v)}). ${v.requester} may now run ` +
        `'${commandFor(v.operation, v.target)}' once, until ${utc(v.grantExpiresAt)}.`
      );
    case 'denied': {
      const d = v.denials[0];
      return `Request ${v.id} was denied${d === undefined ? '' : ` by ${d.principal}${d.comment === undefined ? '' : `: "${shown(d.comment)}"`}`}.`;
    }
    case 'expired':
      return `Request ${v.id} expired at ${utc(v.expiresAt)} before enough people approved it (${progressText(v)}).`;
    case 'cancelled':
      return `Request ${v.id} was cancelled by its requester.`;
    case 'used':
      return `Request ${v.id} was approved and its grant is already used (at ${utc(v.usedAt)}).`;
    default:
      return `Request ${v.id} is ${v.status} (${progressText(v)}).`;
  }
}

interface WaitOptions {
  readonly timeoutSeconds?: number;
  readonly intervalSeconds: number;
}

/** Follows a request until it is decided (or the wait ends), with progress lines on stderr. */
async function waitForDecision(
  io: CliIo,
  api: ApprovalMethods,
  first: RequestView,
  opts: WaitOptions,
): Promise<RequestView> {
  const started = Date.now();
  const expires = new Date(first.expiresAt).getTime();
  const deadline =
    opts.timeoutSeconds === undefined
      ? Number.isNaN(expires)
        ? Number.POSITIVE_INFINITY
        : expires + 2000
      : started + opts.timeoutSeconds * 1000;
  let view = first;
  const seen = new Set<string>([...first.approvals, ...first.denials].map((m) => `${m.principal}@${m.at}`));
  let heartbeat = started + HEARTBEAT_MS;
  io.stderr.write(
    `Waiting for approvals of request ${view.id} (${progressText(view)}); Ctrl-C stops waiting, the request stays pending.\n`,
  );
  while (view.status === 'pending') {
    const now = Date.now();
    if (now >= deadline) {
      throw new CliError(
        `Request ${view.id} is still pending after ${formatSeconds(Math.round((now - started) / 1000))} ` +
          `(${progressText(view)}; it expires at ${utc(view.expiresAt)}). Follow it with ` +
          `'spike requests show ${view.id}', or wait again with 'spike request … --wait'.`,
        ExitCode.ApprovalRequired,
      );
    }
    await sleep(Math.min(opts.intervalSeconds * 1000, Math.max(0, deadline - now)));
    view = await api.get(view.id);
    for (const [kind, marks] of [
      ['approved', view.approvals],
      ['denied', view.denials],
    ] as const) {
      for (const m of marks) {
        const key = `${m.principal}@${m.at}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const said = m.comment === undefined ? '' : `: "${shown(m.comment)}"`;
        io.stderr.write(`  ${m.principal} ${kind} (${progressText(view)})${said}\n`);
      }
    }
    if (view.status === 'pending' && Date.now() >= heartbeat) {
      heartbeat = Date.now() + HEARTBEAT_MS;
      io.stderr.write(`  still waiting (${progressText(view)}; expires at ${utc(view.expiresAt)})\n`);
    }
  }
  return view;
}

/** Exit code after `--wait`: 0 approved, 4 denied or cancelled, 8 expired or already used. */
function waitOutcome(v: RequestView): void {
  if (v.status === 'approved') return;
  const codeFor: Readonly<Record<string, ExitCode>> = {
    denied: ExitCode.Unauthorized,
    cancelled: ExitCode.Unauthorized,
    expired: ExitCode.ApprovalRequired,
    used: ExitCode.ApprovalRequired,
  };
  throw new CliError(describeOutcome(v), codeFor[v.status] ?? ExitCode.General);
}

function targetOf(operation: ApprovalOperation, raw: string | undefined): string {
  switch (operation) {
    case 'read':
    case 'write':
      return secretPathArg(raw ?? '');
    case 'sign':
    case 'decrypt':
      return keyNameArg(raw ?? '', '<key>');
    case 'policy':
      return '';
  }
}

export function registerApprovalCommands(program: Command, io: CliIo): void {
  const request = program
    .command('request')
    .description('ask other people to approve an operation that needs multi-party approval')
    .addHelpText(
      'after',
      '\nAn approval rule in a policy can make an operation need M approvals by named people first.\n' +
        'File a request with a reason; once approved, run the operation itself: the grant allows it\n' +
        'once, for a limited time, for exactly this operation and target. Examples:\n' +
        '  spike request read infra/db/root --reason "rotate the root password (CHG-1234)" --wait\n' +
        '  spike request sign release/pgp --reason "sign v2.0.0"\n' +
        '  spike requests show <id>\n',
    );

  for (const op of OPERATIONS) {
    const cmd = request.command(op.operation).description(`file a request to ${op.about}`);
    if (op.target !== undefined) {
      cmd.argument(op.target, op.target === '<path>' ? 'secret path' : 'key name');
    }
    cmd
      .option('-r, --reason <text>', 'why you need it (1..1000 characters; the approvers read it)')
      .option('-w, --wait', 'wait until the request is approved, denied or expired (progress on stderr)')
      .option(
        '--timeout <duration>',
        'with --wait: stop waiting after this long, e.g. 10m (default: until it expires)',
      )
      .option('--interval <duration>', 'with --wait: how often to ask Nexus (default 2s)')
      .option('--json', 'print the request as JSON (with --wait: once decided)')
      .addHelpText(
        'after',
        '\nPrints the request ID on stdout (messages on stderr). Exit codes with --wait: 0 approved,\n' +
          '4 denied or cancelled, 8 expired or still pending when --timeout ends.\n',
      )
      .action(async (...args: unknown[]) => {
        const raw = op.target === undefined ? undefined : (args[0] as string);
        const opts = args[op.target === undefined ? 0 : 1] as {
          reason?: string;
          wait?: boolean;
          timeout?: string;
          interval?: string;
          json?: boolean;
        };
        if (opts.reason === undefined) {
          throw usageError(
            `A reason is required: spike request ${op.operation}${op.target === undefined ? '' : ` ${op.target}`} --reason "why you need it".`,
          );
        }
        if (opts.wait !== true && (opts.timeout !== undefined || opts.interval !== undefined)) {
          throw usageError('--timeout and --interval go with --wait.');
        }
        const reason = reasonArg(opts.reason);
        const target = targetOf(op.operation, raw);
        const timeoutSeconds =
          opts.timeout === undefined ? undefined : durationSecondsArg(opts.timeout, '--timeout', 1, 604_800);
        const intervalSeconds =
          opts.interval === undefined
            ? DEFAULT_INTERVAL_SECONDS
            : durationSecondsArg(opts.interval, '--interval', 1, 3600);
        await withNexus(
          io,
          'any',
          async ({ client }) => {
            const api = approvalsOf(client);
            const filed = await api.request(op.operation, target, reason);
            if (opts.json !== true) io.stdout.write(`${filed.id}\n`);
            io.stderr.write(
              `Request ${filed.id} filed: ${op.operation}` +
                `${op.operation === 'policy' ? ' (policy changes)' : ` on '${shown(target)}'`} needs ` +
                `${String(filed.required)} approval(s) by people other than you, before ${utc(filed.expiresAt)}. ` +
                `Approvers run 'spike approve ${filed.id}' (or use the console).\n`,
            );
            if (opts.wait !== true) {
              if (opts.json === true) io.stdout.write(JSON.stringify(filed, null, 2) + '\n');
              return;
            }
            const final = await waitForDecision(io, api, filed, {
              intervalSeconds,
              ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
            });
            if (opts.json === true) io.stdout.write(JSON.stringify(final, null, 2) + '\n');
            waitOutcome(final);
            io.stderr.write(`${describeOutcome(final)}\n`);
          },
          {
            badRequest:
              `Nexus refused the request: ${op.operation}${op.operation === 'policy' ? '' : ` on '${shown(target)}'`} ` +
              'needs no approval (no approval rule covers it), the reason is not acceptable, or you have too many ' +
              "open requests (see 'spike requests list --mine').",
          },
        );
      });
  }

  for (const verb of ['approve', 'deny'] as const) {
    program
      .command(verb)
      .description(
        verb === 'approve'
          ? 'approve a pending request (people only; never your own)'
          : 'deny a pending request: it ends at once (people only)',
      )
      .argument('<id>', "request ID (see 'spike requests list')")
      .option(
        '-c, --comment <text>',
        'a comment the requester and the other approvers see (at most 1000 characters)',
      )
      .option('--json', 'print the request as JSON afterwards')
      .action(async (rawId: string, opts: { comment?: string; json?: boolean }) => {
        const id = requestIdArg(rawId);
        const comment = commentArg(opts.comment);
        requirePeopleDoor(io, verb);
        await withNexus(io, 'any', async (call) => {
          const api = approvalsOf(call.client);
          let v: RequestView;
          try {
            v = verb === 'approve' ? await api.approve(id, comment) : await api.deny(id, comment);
          } catch (err) {
            throw await explainRefusal(call, id, verb, err);
          }
          if (opts.json === true) io.stdout.write(JSON.stringify(v, null, 2) + '\n');
          if (verb === 'deny') io.stderr.write(`Denied request ${id}; it has ended.\n`);
          else if (v.status === 'pending') {
            const left = v.required - v.approvals.length;
            io.stderr.write(
              `Approved request ${id} (${progressText(v)}); waiting for ${String(left)} more approval(s).\n`,
            );
          } else io.stderr.write(`${describeOutcome(v)}\n`);
        });
      });
  }

  const requests = program
    .command('requests')
    .description('approval requests: yours, and those you may approve');

  requests
    .command('list')
    .description('list requests you filed or may approve (admins and auditors: all)')
    .option('-s, --status <status>', 'only this status: pending, approved, denied, expired, used, cancelled')
    .option('--mine', 'only the requests you filed')
    .option('--limit <n>', 'at most this many (default 100, at most 1000)')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; mine?: boolean; limit?: string; json?: boolean }) => {
      const status: ApprovalStatus | undefined = statusArg(opts.status);
      let limit: number | undefined;
      if (opts.limit !== undefined) {
        if (!/^[0-9]{1,4}$/.test(opts.limit) || Number(opts.limit) < 1 || Number(opts.limit) > 1000) {
          throw new CliError(`Invalid --limit '${shown(opts.limit)}': expected 1 to 1000.`, ExitCode.General);
        }
        limit = Number(opts.limit);
      }
      await withNexus(io, 'any', async ({ client }) => {
        const list = await approvalsOf(client).list({
          ...(status === undefined ? {} : { status }),
          ...(opts.mine === true ? { mine: true } : {}),
          ...(limit === undefined ? {} : { limit }),
        });
        if (opts.json === true) {
          io.stdout.write(JSON.stringify(list, null, 2) + '\n');
          return;
        }
        if (list.length === 0) {
          io.stderr.write('No requests.\n');
          return;
        }
        io.stdout.write(renderRequestTable(list));
      });
    });

  requests
    .command('show')
    .description('show one request: status, reason, approvals and denials')
    .argument('<id>', 'request ID')
    .option('--json', 'print JSON')
    .action(async (rawId: string, opts: { json?: boolean }) => {
      const id = requestIdArg(rawId);
      await withNexus(io, 'any', async ({ client }) => {
        let v: RequestView;
        try {
          v = await approvalsOf(client).get(id);
        } catch (err) {
          if (code(err) === 'api_not_found') throw notVisible(id);
          throw err;
        }
        io.stdout.write(opts.json === true ? JSON.stringify(v, null, 2) + '\n' : renderRequest(v));
      });
    });

  requests
    .command('cancel')
    .description('cancel a pending request you filed')
    .argument('<id>', 'request ID')
    .action(async (rawId: string) => {
      const id = requestIdArg(rawId);
      await withNexus(io, 'any', async (call) => {
        try {
          await approvalsOf(call.client).cancel(id);
        } catch (err) {
          throw await explainRefusal(call, id, 'cancel', err);
        }
        io.stderr.write(`Cancelled request ${id}.\n`);
      });
    });
}
