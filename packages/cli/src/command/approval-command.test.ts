/**
 * The approval commands in process with a stub SDK client (the end-to-end suite in test/cli/
 * runs them against a real Nexus): what is sent, what is printed where, the exit codes of
 * `--wait`, the words for a refused decision, and the checks made before anything is sent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { X509Source } from '@spike-ts/identity';
import type { SpikeClient } from '@spike-ts/sdk';
import { SpikeApprovalRequiredError, SpikeBadRequestError, SpikeNotFoundError } from '@spike-ts/sdk';
import type { CliIo } from '../cli-io.ts';
import { ExitCode } from '../exit-code.ts';
import { runCli } from '../run-cli.ts';
import type { RequestView } from '../approval-view.ts';

const PILOT = 'spiffe://spike.ist/spike/pilot/role/superuser';
const ID = 'Q2x1ZXNzLXRoaXMtaXMtYS1yZXF1ZXN0';

const view = (over: Partial<RequestView> = {}): RequestView => ({
  id: ID,
  requester: PILOT,
  requesterKind: 'workload',
  operation: 'read',
  target: 'infra/db/root',
  reason: 'rotate',
  status: 'pending',
  required: 2,
  approvals: [],
  denials: [],
  createdAt: '2026-12-06T00:00:00.000Z',
  expiresAt: '2099-12-07T00:00:00.000Z',
  ...over,
});

type Calls = { name: string; args: unknown[] }[];

function harness(
  opts: {
    env?: Record<string, string>;
    approvals?: Record<string, (...a: unknown[]) => Promise<unknown>>;
    client?: Record<string, unknown>;
  } = {},
) {
  let out = '';
  let err = '';
  const calls: Calls = [];
  let opened = 0;
  const approvals = new Proxy(
    {},
    {
      get(_t, prop: string) {
        return (...args: unknown[]) => {
          calls.push({ name: `approvals.${prop}`, args });
          const f = opts.approvals?.[prop];
          return f === undefined ? Promise.resolve(view()) : f(...args);
        };
      },
    },
  );
  const client = new Proxy({} as SpikeClient, {
    get(_t, prop: string) {
      if (prop === 'then') return undefined;
      if (prop === 'approvals') return approvals;
      if (prop === 'close') return () => Promise.resolve();
      if (opts.client !== undefined && prop in opts.client) return opts.client[prop];
      return (...args: unknown[]) => {
        calls.push({ name: prop, args });
        return Promise.resolve(undefined);
      };
    },
  });
  const source: X509Source = {
    getX509Svid: () => ({ spiffeId: PILOT }) as ReturnType<X509Source['getX509Svid']>,
    getX509Bundles: () => new Map(),
    onUpdate: () => () => undefined,
    close: () => Promise.resolve(),
  };
  const io: CliIo = {
    env: opts.env ?? { SPIFFE_ENDPOINT_SOCKET: 'unix:///tmp/x.sock' },
    stdout: { write: (c) => (out += String(c)) },
    stderr: { write: (c) => (err += String(c)) },
    stdin: new PassThrough(),
    openSource: () => {
      opened += 1;
      return Promise.resolve(source);
    },
    openClient: () => Promise.resolve(client),
  };
  return { io, out: () => out, err: () => err, calls, opened: () => opened };
}

describe('spike request', () => {
  it('files a request: the ID on stdout, what happens next on stderr', async () => {
    const h = harness();
    const code = await runCli(['request', 'read', '/infra//db/root/', '--reason', 'rotate it'], h.io);
    assert.equal(code, 0, h.err());
    assert.equal(h.out(), `${ID}\n`);
    assert.deepEqual(h.calls, [
      {
        name: 'approvals.request',
        args: ['read', 'infra/db/root', 'rotate it'],
      },
    ]);
    assert.match(h.err(), /Request .* filed: read on 'infra\/db\/root' needs 2 approval\(s\)/);
    assert.match(h.err(), new RegExp(`spike approve ${ID}`));
  });

  it('policy takes no target; sign and decrypt take key names', async () => {
    const h = harness();
    assert.equal(await runCli(['request', 'policy', '--reason', 'new team'], h.io), 0);
    assert.equal(await runCli(['request', 'sign', 'release/pgp', '-r', 'v2.0.0'], h.io), 0);
    assert.deepEqual(
      h.calls.map((c) => c.args),
      [
        ['policy', '', 'new team'],
        ['sign', 'release/pgp', 'v2.0.0'],
      ],
    );
  });

  it('refuses bad input before fetching an identity', async () => {
    const cases: [string[], number, RegExp][] = [
      [['request', 'read', 'a/b'], ExitCode.Usage, /A reason is required/],
      [['request', 'read', 'a/b', '--reason', '   '], ExitCode.General, /The reason is empty/],
      [['request', 'read', 'a/b', '--reason', 'x'.repeat(1001)], ExitCode.General, /1001 characters long/],
      [['request', 'read', '../x', '--reason', 'r'], ExitCode.General, /Invalid secret path/],
      [['request', 'sign', 'bad key', '--reason', 'r'], ExitCode.General, /Invalid key name/],
      [['request', 'read', 'a', '--reason', 'r', '--timeout', '5m'], ExitCode.Usage, /go with --wait/],
      [
        ['request', 'read', 'a', '--reason', 'r', '--wait', '--timeout', 'soon'],
        ExitCode.General,
        /--timeout/,
      ],
      [['request', 'delete', 'a', '--reason', 'r'], ExitCode.Usage, /unknown command/],
      [['approve', 'not an id'], ExitCode.General, /Invalid request ID/],
      [['approve', ID, '--comment', 'y'.repeat(1001)], ExitCode.General, /comment is 1001/],
      [['requests', 'list', '--status', 'open'], ExitCode.General, /Invalid --status 'open'/],
      [['requests', 'show'], ExitCode.Usage, /missing required argument/],
    ];
    for (const [args, exit, message] of cases) {
      const h = harness();
      assert.equal(await runCli(args, h.io), exit, `${args.join(' ')}: ${h.err()}`);
      assert.match(h.err(), message, args.join(' '));
      assert.equal(h.opened(), 0, `${args.join(' ')}: no identity fetched`);
    }
  });

  it('--wait reports each approval and exits 0 once approved', async () => {
    const answers = [
      view({ approvals: [{ principal: 'user:alice', at: '2026-12-06T00:01:00Z', comment: 'ok' }] }),
      view({
        status: 'approved',
        grantExpiresAt: '2026-12-06T00:16:00Z',
        approvals: [
          { principal: 'user:alice', at: '2026-12-06T00:01:00Z', comment: 'ok' },
          { principal: 'user:carol', at: '2026-12-06T00:02:00Z' },
        ],
      }),
    ];
    const h = harness({ approvals: { get: () => Promise.resolve(answers.shift()) } });
    const code = await runCli(
      ['request', 'read', 'infra/db/root', '-r', 'x', '--wait', '--interval', '1'],
      h.io,
    );
    assert.equal(code, 0, h.err());
    assert.equal(h.out(), `${ID}\n`);
    assert.match(h.err(), /Waiting for approvals of request .* \(0 of 2 approvals\)/);
    assert.match(h.err(), /user:alice approved \(1 of 2 approvals\): "ok"/);
    assert.match(h.err(), /user:carol approved \(2 of 2 approvals\)/);
    assert.match(
      h.err(),
      /may now run 'spike secret get infra\/db\/root' once, until 2026-12-06 00:16:00 UTC/,
    );
  });

  it('--wait exits 4 when denied and 8 when --timeout ends first', async () => {
    const denied = harness({
      approvals: {
        get: () =>
          Promise.resolve(
            view({ status: 'denied', denials: [{ principal: 'user:carol', at: 't', comment: 'no' }] }),
          ),
      },
    });
    assert.equal(
      await runCli(['request', 'read', 'a', '-r', 'x', '--wait', '--interval', '1'], denied.io),
      ExitCode.Unauthorized,
    );
    assert.match(denied.err(), /was denied by user:carol: "no"/);
    const pending = harness();
    assert.equal(
      await runCli(
        ['request', 'read', 'a', '-r', 'x', '--wait', '--timeout', '1', '--interval', '1'],
        pending.io,
      ),
      ExitCode.ApprovalRequired,
    );
    assert.match(pending.err(), /still pending after 1s \(0 of 2 approvals/);
  });
});

describe('spike approve, deny, requests', () => {
  it('approve through the SVID is refused before anything is sent', async () => {
    const h = harness();
    assert.equal(await runCli(['approve', ID], h.io), ExitCode.Unauthorized);
    assert.match(h.err(), /Only people approve requests/);
    assert.equal(h.opened(), 0);
    assert.deepEqual(h.calls, []);
  });

  it('explains a refused approval: own request, twice, not pending, not an approver, unknown', async () => {
    // No socket and no login: the stub SVID stands in for a person; Nexus's refusal is a 400.
    const env = { XDG_CONFIG_HOME: '/nonexistent/spike-test-config' };
    const refuse = () => Promise.reject(new SpikeBadRequestError('Bad request.', 400));
    const cases: [Partial<RequestView>, RegExp, number][] = [
      [{}, /cannot approve your own request .* needs 2 approval\(s\)/, ExitCode.General],
      [
        { requester: 'user:bob', approvals: [{ principal: PILOT, at: 't' }] },
        /already approved request .*: each approver counts once/,
        ExitCode.General,
      ],
      [
        { requester: 'user:bob', status: 'expired' },
        /is expired, no longer pending \(it expired at/,
        ExitCode.General,
      ],
      [
        { requester: 'user:bob' },
        /may not approve request .* names you or one of your groups/,
        ExitCode.Unauthorized,
      ],
    ];
    for (const [over, message, exit] of cases) {
      const h = harness({ env, approvals: { approve: refuse, get: () => Promise.resolve(view(over)) } });
      assert.equal(await runCli(['approve', ID], h.io), exit, h.err());
      assert.match(h.err(), message);
    }
    const gone = harness({
      env,
      approvals: {
        deny: () => Promise.reject(new SpikeNotFoundError()),
        get: () => Promise.reject(new SpikeNotFoundError()),
      },
    });
    assert.equal(await runCli(['deny', ID, '-c', 'no'], gone.io), ExitCode.NotFound);
    assert.match(gone.err(), /No request '.*' that you may see/);
    assert.deepEqual(gone.calls[0], { name: 'approvals.deny', args: [ID, 'no'] });
  });

  it('approve says how many approvals are still missing, or that the request is approved', async () => {
    const env = { XDG_CONFIG_HOME: '/nonexistent/spike-test-config' };
    const one = harness({
      env,
      approvals: {
        approve: () =>
          Promise.resolve(view({ requester: 'user:bob', approvals: [{ principal: PILOT, at: 't' }] })),
      },
    });
    assert.equal(await runCli(['approve', ID, '--comment', 'ok'], one.io), 0, one.err());
    assert.deepEqual(one.calls[0], { name: 'approvals.approve', args: [ID, 'ok'] });
    assert.match(one.err(), /Approved request .* \(1 of 2 approvals\); waiting for 1 more approval/);
  });

  it('requests list prints a table (nothing on stdout when empty); show prints one; cancel cancels', async () => {
    const h = harness({
      approvals: {
        list: () =>
          Promise.resolve([
            view(),
            view({
              id: 'AAAAAAAAAAAAAAAAAAAAAAAA',
              status: 'approved',
              grantExpiresAt: '2026-12-06T00:16:00Z',
            }),
          ]),
      },
    });
    assert.equal(await runCli(['requests', 'list', '--status', 'pending', '--mine'], h.io), 0, h.err());
    assert.deepEqual(h.calls[0]?.args, [{ status: 'pending', mine: true }]);
    const lines = h.out().trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID +STATUS +OPERATION +TARGET +REQUESTER +APPROVALS +EXPIRES$/);
    assert.match(
      lines[1] ?? '',
      /pending +read +infra\/db\/root +spiffe:\/\/spike\.ist\/spike\/pilot\/role\/superuser +0\/2/,
    );
    assert.match(lines[2] ?? '', /approved .* 2026-12-06 00:16:00 UTC$/);
    const empty = harness({ approvals: { list: () => Promise.resolve([]) } });
    assert.equal(await runCli(['requests', 'list'], empty.io), 0);
    assert.equal(empty.out(), '');
    assert.match(empty.err(), /No requests/);
    const json = harness({ approvals: { list: () => Promise.resolve([]) } });
    assert.equal(await runCli(['requests', 'list', '--json'], json.io), 0);
    assert.equal(json.out(), '[]\n');
    const show = harness({ approvals: { get: () => Promise.resolve(view({ reason: 'line1\nline2' })) } });
    assert.equal(await runCli(['requests', 'show', ID], show.io), 0);
    assert.match(show.out(), /^Status +pending \(0 of 2 approvals\)$/m);
    assert.match(show.out(), /^Reason +line1\\nline2$/m, 'control characters escaped');
    const cancel = harness();
    assert.equal(await runCli(['requests', 'cancel', ID], cancel.io), 0);
    assert.deepEqual(cancel.calls[0], { name: 'approvals.cancel', args: [ID] });
    assert.match(cancel.err(), /Cancelled request/);
  });

  it('a command refused with approval_required says which request to file and exits 8', async () => {
    const refused = new SpikeApprovalRequiredError();
    const h = harness({ client: { getSecret: () => Promise.reject(refused) } });
    assert.equal(await runCli(['secret', 'get', 'infra/db/root'], h.io), ExitCode.ApprovalRequired);
    assert.match(
      h.err(),
      /Approval required: read on 'infra\/db\/root' needs approval .* spike request read infra\/db\/root --reason "<why you need it>" --wait/,
    );
    const p = harness({
      client: { listPolicies: () => Promise.resolve([]), putPolicy: () => Promise.reject(refused) },
    });
    const args = [
      'policy',
      'create',
      '--name',
      'x',
      '--path-pattern',
      '^x$',
      '--permissions',
      'read',
      '--groups',
      'g',
    ];
    assert.equal(await runCli(args, p.io), ExitCode.ApprovalRequired);
    assert.match(p.err(), /Changing policies needs approval .* spike request policy --reason/);
  });
});

describe('spike policy with an approval rule', () => {
  const base = [
    'policy',
    'apply',
    '--name',
    'vault',
    '--path-pattern',
    '^vault/.*$',
    '--permissions',
    'read',
    '--groups',
    'infra',
  ];

  it('sends the rule from the flags', async () => {
    const h = harness();
    const args = [
      ...base,
      '--approval-required',
      '2',
      '--approval-groups',
      'infra,security',
      '--approval-people',
      'user:alice',
    ];
    assert.equal(
      await runCli(
        [...args, '--approval-permissions', 'read', '--grant-ttl', '10m', '--request-ttl', '2d'],
        h.io,
      ),
      0,
      h.err(),
    );
    const sent = h.calls.find((c) => c.name === 'putPolicy')?.args[0] as Record<string, unknown>;
    assert.deepEqual(sent.approval, {
      required: 2,
      approverGroups: ['infra', 'security'],
      approverPeople: ['user:alice'],
      permissions: ['read'],
      grantTtlSeconds: 600,
      requestTtlSeconds: 172800,
    });
  });

  it('refuses a bad rule before anything is sent', async () => {
    const cases: [string[], number, RegExp][] = [
      [['--approval-groups', 'infra'], ExitCode.Usage, /--approval-groups needs --approval-required/],
      [['--approval-required', '2'], ExitCode.General, /needs approvers/],
      [['--approval-required', '10', '--approval-groups', 'g'], ExitCode.General, /from 1 to 9/],
      [['--approval-required', '0', '--approval-groups', 'g'], ExitCode.General, /from 1 to 9/],
      [['--approval-required', '1', '--approval-people', 'alice'], ExitCode.General, /user:<name>/],
      [
        ['--approval-required', '1', '--approval-groups', 'g', '--grant-ttl', '2d'],
        ExitCode.General,
        /--grant-ttl/,
      ],
      [
        ['--approval-required', '1', '--approval-groups', 'g', '--approval-permissions', 'fly'],
        ExitCode.General,
        /permission 'fly'/,
      ],
    ];
    for (const [extra, exit, message] of cases) {
      const h = harness();
      assert.equal(await runCli([...base, ...extra], h.io), exit, `${extra.join(' ')}: ${h.err()}`);
      assert.match(h.err(), message, extra.join(' '));
      assert.equal(h.opened(), 0);
    }
  });
});
