/**
 * @module policy-command
 * `spike policy create|apply|list|get|delete`.
 */
import type { Command } from 'commander';
import type { Policy, PolicyInput } from '@spike-ts/sdk';
import {
  APPROVAL_FLAG_NAMES,
  approvalSummary,
  policyApprovalArgs,
  type PolicyApprovalInput,
} from '../approval-args.ts';
import type { CliIo } from '../cli-io.ts';
import {
  pathPatternArg,
  permissionsArg,
  policyNameArg,
  policyPeopleArgs,
  shown,
  spiffeIdPatternArg,
} from '../cli-args.ts';
import { CliError, ExitCode, invalidInput, usageError } from '../exit-code.ts';
import { withNexus } from '../nexus-session.ts';
import { FORMAT_OPTION_HELP, parseOutputFormat, renderDocument } from '../output-format.ts';
import { confirm } from '../read-input.ts';
import { damagedWarning } from './damaged-command.ts';

interface PolicyFlags {
  name?: string;
  pathPattern?: string;
  spiffeidPattern?: string;
  permissions?: string;
  people?: string;
  groups?: string;
  workloadsOnly?: boolean;
  approvalRequired?: string;
  approvalGroups?: string;
  approvalPeople?: string;
  approvalPermissions?: string;
  grantTtl?: string;
  requestTtl?: string;
  file?: string;
}

/** A policy as the CLI sends it: with its approval rule when one is given. */
type PolicyWithApproval = PolicyInput & { approval?: PolicyApprovalInput };

/** The approval options of create/apply (undefined when none is given). */
function approvalFromFlags(flags: PolicyFlags): PolicyApprovalInput | undefined {
  return policyApprovalArgs(
    {
      required: flags.approvalRequired,
      groups: flags.approvalGroups,
      people: flags.approvalPeople,
      permissions: flags.approvalPermissions,
      grantTtl: flags.grantTtl,
      requestTtl: flags.requestTtl,
    },
    APPROVAL_FLAG_NAMES,
  );
}

/** Changing policies may need approval (`write` on spike/system/acl): `spike request policy`. */
const POLICY_APPROVAL = { operation: 'policy', target: '' } as const;

const PERMISSIONS_HELP =
  'comma-separated permissions: read, write, list, execute, super; for named keys also sign, verify, decrypt';

function policyFromFlags(flags: PolicyFlags): PolicyWithApproval {
  // ADR 0036: a policy naming people or groups may leave out the SPIFFE ID pattern (no workload);
  // ADR 0042: so may a policy with an approval rule (it may only mark paths).
  const people = policyPeopleArgs(flags, {
    people: '--people',
    groups: '--groups',
    workloadsOnly: '--workloads-only',
  });
  const approval = approvalFromFlags(flags);
  const namesPeople = people.people !== undefined || people.groups !== undefined || approval !== undefined;
  const missing = (
    [
      ['--name', flags.name],
      ['--spiffeid-pattern', namesPeople ? '' : flags.spiffeidPattern],
      ['--path-pattern', flags.pathPattern],
      ['--permissions', flags.permissions],
    ] as const
  )
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length > 0) throw usageError(`Missing required option(s): ${missing.join(', ')}.`);
  const spiffeIdPattern = flags.spiffeidPattern ?? '';
  return {
    name: policyNameArg(flags.name, '--name'),
    spiffeIdPattern:
      namesPeople && spiffeIdPattern === '' ? '' : spiffeIdPatternArg(spiffeIdPattern, '--spiffeid-pattern'),
    pathPattern: pathPatternArg(flags.pathPattern ?? '', '--path-pattern'),
    permissions: permissionsArg(flags.permissions ?? '', '--permissions'),
    ...people,
    ...(approval === undefined ? {} : { approval }),
  };
}

function withPolicyFlags(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'policy name')
    .option(
      '--spiffeid-pattern <regex>',
      'RE2 pattern for SPIFFE IDs, e.g. ^spiffe://example\\.org/app/.*$ (optional with --people, --groups or --approval-required)',
    )
    .option('--path-pattern <regex>', 'RE2 pattern for secret paths, e.g. ^tenants/demo/.*$')
    .option('--permissions <list>', PERMISSIONS_HELP)
    .option('--people <list>', 'comma-separated people the policy grants to, e.g. user:alice,user:bob')
    .option(
      '--groups <list>',
      "comma-separated groups (the login's groups claim) it grants to, e.g. infra,trustees",
    )
    .option('--workloads-only', 'the paths are for workloads only: no person reads their values')
    .option(
      '--approval-required <n>',
      'multi-party approval: operations on matching paths need n approvals (1-9) by other people first',
    )
    .option('--approval-groups <list>', 'approval: comma-separated groups whose members may approve')
    .option('--approval-people <list>', 'approval: comma-separated people who may approve, e.g. user:alice')
    .option(
      '--approval-permissions <list>',
      "approval: which operations need it, e.g. read (default: the policy's permissions)",
    )
    .option(
      '--grant-ttl <duration>',
      'approval: how long an approved grant stays usable (default 15m, at most 24h)',
    )
    .option(
      '--request-ttl <duration>',
      'approval: how long a request waits for approvals (default 24h, at most 7d)',
    );
}

/**
 * `policy get -f json|yaml`: every key SPIKE's CLI prints, so scripts written against it keep
 * working. Its JSON has the wire names (with the misspelled `spiffiedPattern`; we add the correct
 * `spiffeidPattern`); its YAML has Go's lowercased field names, including the two regex fields
 * it always prints as null.
 */
function policyDocument(p: Policy, format: 'json' | 'yaml'): Record<string, unknown> {
  if (format === 'json') {
    return {
      id: p.id,
      name: p.name,
      spiffiedPattern: p.spiffeIdPattern,
      spiffeidPattern: p.spiffeIdPattern,
      pathPattern: p.pathPattern,
      permissions: p.permissions,
      ...peopleFields(p),
      createdAt: p.createdAt,
      updatedAt: p.updatedAt,
    };
  }
  return {
    id: p.id,
    name: p.name,
    spiffeidpattern: p.spiffeIdPattern,
    pathpattern: p.pathPattern,
    permissions: p.permissions,
    ...peopleFields(p),
    createdat: p.createdAt,
    updatedat: p.updatedAt,
    idregex: null,
    pathregex: null,
  };
}

/** The approval rule of a stored policy, when it has one. */
function approvalOf(p: Policy): PolicyApprovalInput | undefined {
  const a = (p as Policy & { approval?: PolicyApprovalInput }).approval;
  return a === undefined || a === null ? undefined : a;
}

/**
 * The people fields (ADR 0036) and the approval rule, only when the policy has them: SPIKE's
 * output is unchanged.
 */
function peopleFields(
  p: Policy,
): Pick<Policy, 'people' | 'groups' | 'workloadsOnly'> & { approval?: PolicyApprovalInput } {
  const approval = approvalOf(p);
  return {
    ...(p.people === undefined ? {} : { people: p.people }),
    ...(p.groups === undefined ? {} : { groups: p.groups }),
    ...(p.workloadsOnly === true ? { workloadsOnly: true } : {}),
    ...(approval === undefined ? {} : { approval }),
  };
}

export function registerPolicyCommands(program: Command, io: CliIo): void {
  const policy = program.command('policy').description('manage access policies');

  withPolicyFlags(
    policy.command('create').description('create a new policy (fails if the name exists)'),
  ).action(async (flags: PolicyFlags) => {
    const input = policyFromFlags(flags);
    await withNexus(
      io,
      'superuser',
      async ({ client }) => {
        const existing = await client.listPolicies();
        if (existing.some((p) => p.name === input.name)) {
          throw invalidInput(
            `Policy '${shown(input.name)}' already exists. Use 'spike policy apply' to update it.`,
          );
        }
        await client.putPolicy(input);
        io.stderr.write(`Policy '${shown(input.name)}' created successfully.\n`);
      },
      { approval: POLICY_APPROVAL },
    );
  });

  withPolicyFlags(policy.command('apply').description('create or update a policy (from flags or --file)'))
    .option(
      '--file <path>',
      'policy file (YAML or JSON) with name, spiffeidPattern, pathPattern, permissions; optional people, groups, workloadsOnly, approval',
    )
    .action(async (flags: PolicyFlags) => {
      const flagged = [
        'name',
        'spiffeidPattern',
        'pathPattern',
        'permissions',
        'people',
        'groups',
        'workloadsOnly',
        'approvalRequired',
        'approvalGroups',
        'approvalPeople',
        'approvalPermissions',
        'grantTtl',
        'requestTtl',
      ].filter((k) => flags[k as keyof PolicyFlags] !== undefined);
      if (flags.file !== undefined && flagged.length > 0) {
        throw usageError(
          'Use either --file or the --name/--spiffeid-pattern/--path-pattern/--permissions/--people/--groups/--workloads-only/--approval-* flags, not both.',
        );
      }
      const fromFlags = flags.file === undefined ? policyFromFlags(flags) : undefined;
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const input =
            fromFlags ?? (await (await import('../policy-file.ts')).readPolicyFile(flags.file ?? ''));
          await client.putPolicy(input);
          io.stderr.write(`Policy '${shown(input.name)}' applied successfully.\n`);
        },
        { approval: POLICY_APPROVAL },
      );
    });

  policy
    .command('list')
    .description('list policies, optionally filtered by an exact pattern')
    .option('--path-pattern <regex>', 'only policies with exactly this path pattern')
    .option('--spiffeid-pattern <regex>', 'only policies with exactly this SPIFFE ID pattern')
    .option('-f, --format <format>', FORMAT_OPTION_HELP, 'human')
    .action(async (opts: { pathPattern?: string; spiffeidPattern?: string; format?: string }) => {
      const format = parseOutputFormat(opts.format);
      if (opts.pathPattern !== undefined && opts.spiffeidPattern !== undefined) {
        throw new CliError('--path-pattern and --spiffeid-pattern cannot be used together.', ExitCode.Usage);
      }
      await withNexus(io, 'superuser', async ({ client }) => {
        const {
          policies: list,
          damagedRows,
          damagedNames,
        } = await client.listPoliciesReport({
          ...(opts.pathPattern === undefined ? {} : { pathPattern: opts.pathPattern }),
          ...(opts.spiffeidPattern === undefined ? {} : { spiffeIdPattern: opts.spiffeidPattern }),
        });
        io.stderr.write(damagedWarning(damagedRows, 'policy', damagedNames));
        if (format !== 'human') {
          io.stdout.write(renderDocument(list, format));
        } else if (list.length === 0) {
          io.stderr.write('No policies found.\n');
        } else {
          io.stdout.write('POLICIES\n========\n\n' + list.map((p) => `Name: ${p.name}\n`).join('\n'));
        }
      });
    });

  policy
    .command('get')
    .description('show one policy')
    .argument('[name]', 'policy name (or --name)')
    .option('--name <name>', 'policy name')
    .option('-f, --format <format>', FORMAT_OPTION_HELP, 'human')
    .action(async (arg: string | undefined, opts: { name?: string; format?: string }) => {
      const format = parseOutputFormat(opts.format);
      const raw = arg ?? opts.name;
      const name = policyNameArg(raw, '[name] or --name');
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          const p = await client.getPolicy(name);
          if (format !== 'human') {
            io.stdout.write(renderDocument(policyDocument(p, format), format));
            return;
          }
          io.stdout.write(
            [
              'POLICY DETAILS',
              '==============',
              '',
              `Name:             ${p.name}`,
              `SPIFFE ID Pattern: ${p.spiffeIdPattern}`,
              `Path Pattern:     ${p.pathPattern}`,
              `Permissions:      ${p.permissions.join(', ')}`,
              ...(p.people === undefined ? [] : [`People:           ${p.people.join(', ')}`]),
              ...(p.groups === undefined ? [] : [`Groups:           ${p.groups.join(', ')}`]),
              ...(p.workloadsOnly === true ? ['Workloads Only:   yes'] : []),
              ...(approvalOf(p) === undefined
                ? []
                : [`Approval:         ${approvalSummary(approvalOf(p) as PolicyApprovalInput)}`]),
              `Created At:       ${p.createdAt}`,
              `Updated At:       ${p.updatedAt}`,
            ].join('\n') + '\n',
          );
        },
        { notFound: `Policy '${shown(raw ?? '')}' not found.` },
      );
    });

  policy
    .command('delete')
    .description('delete a policy (asks for confirmation unless --yes)')
    .argument('[name]', 'policy name (or --name)')
    .option('--name <name>', 'policy name')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (arg: string | undefined, opts: { name?: string; yes?: boolean }) => {
      const raw = arg ?? opts.name;
      const name = policyNameArg(raw, '[name] or --name');
      await withNexus(
        io,
        'superuser',
        async ({ client }) => {
          await client.getPolicy(name);
          if (opts.yes !== true) {
            if (io.stdin.isTTY !== true) {
              throw invalidInput(
                `Refusing to ask for confirmation: standard input is not a terminal. ` +
                  `Re-run with --yes to delete policy '${shown(name)}'.`,
              );
            }
            if (
              !(await confirm(io.stdin, io.stderr, `Delete policy '${shown(name)}'? This cannot be undone.`))
            ) {
              io.stderr.write('Cancelled; nothing was deleted.\n');
              return;
            }
          }
          await client.deletePolicy(name);
          io.stderr.write(`Policy '${shown(name)}' deleted.\n`);
        },
        { notFound: `Policy '${shown(raw ?? '')}' not found.`, approval: POLICY_APPROVAL },
      );
    });
}
