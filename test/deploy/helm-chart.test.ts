/**
 * The Helm chart (deploy/helm/spike), linted and rendered by the real `helm` (v4, built into the
 * tools cache by `npm run tools:install`), then checked on the parsed manifests:
 *
 * - every component's pods are registered by exactly one ClusterSPIFFEID, and the ID it yields
 *   carries that component's SPIKE role (checked with the identity package's own role rule and
 *   the trust roots the pod is given) and no other role;
 * - the environment each component gets passes that component's own configuration loader, and
 *   Nexus and the bootstrap name the same keepers, which are the keeper StatefulSet's pods;
 * - probes hit the health listener Nexus is configured with (/healthz for liveness, /readyz for
 *   readiness) and the keepers' mTLS port (they have no health listener);
 * - the NetworkPolicies let Nexus and the bootstrap Job reach the keepers, and no workload (any
 *   namespace, any labels short of Nexus's or the bootstrap's own);
 * - pods and containers are locked down (non-root, read-only root, no capabilities);
 * - with `nexus.backend=postgres`, several Nexus replicas without a volume, the database
 *   password and CA as mounted files, API threads as set, and a bootstrap that asks every replica;
 * - bad values are refused with a message.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { hasRole, SPIKE_ROLES, trustRootsFromEnv, type SpikeRole } from '@spike-ts/identity';
import { loadConfig } from '@spike-ts/nexus';
import { loadKeeperConfig } from '@spike-ts/keeper';
import { loadBootstrapConfig } from '@spike-ts/bootstrap';
import { missingBinaries, toolBinDir } from '../../scripts/tools/registry.ts';
import { HELM } from '../../scripts/tools/helm.ts';
import {
  connectionAllowed,
  selects,
  type Container,
  type Labels,
  type Manifest,
  type ManifestSpec,
  type PodSpec,
  type PodView,
} from './k8s-model.ts';

const CHART = join(import.meta.dirname, '..', '..', 'deploy', 'helm', 'spike');
const NS = 'secrets';
const RELEASE = 'prod';
const NS_LABELS = { 'kubernetes.io/metadata.name': NS };

function helmBinary(): string {
  const dir = process.env['HELM_BIN_DIR']?.trim() || toolBinDir(HELM);
  const missing = missingBinaries(HELM, dir);
  if (missing.length > 0) {
    throw new Error(
      `helm ${HELM.version} is not installed in ${dir}. Run \`npm run tools:install\` (builds it from ` +
        'the Go module proxy; needs Go; `npm test` does it first) or set HELM_BIN_DIR to a folder holding helm.',
    );
  }
  return join(dir, 'helm');
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

let helmHome = '';
function helm(args: string[]): Run {
  const r = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
    // Helm's own folders in a temp dir: nothing of the user's Helm set-up is read or written.
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: helmHome,
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_DATA_HOME: join(helmHome, 'data'),
      KUBECONFIG: join(helmHome, 'no-kubeconfig'),
    },
  });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function render(set: string[] = []): Manifest[] {
  const args = ['template', RELEASE, CHART, '--namespace', NS, ...set.flatMap((s) => ['--set', s])];
  const r = helm(args);
  assert.equal(r.status, 0, `helm template failed: ${r.stderr}`);
  const docs = parseAllDocuments(r.stdout);
  const out: Manifest[] = [];
  for (const doc of docs) {
    assert.deepEqual(doc.errors, [], 'rendered YAML parses');
    const value = doc.toJS() as (Omit<Manifest, 'spec'> & { spec?: ManifestSpec }) | null;
    if (value !== null) out.push({ ...value, spec: value.spec ?? {} });
  }
  return out;
}

const byKind = (ms: Manifest[], kind: string): Manifest[] => ms.filter((m) => m.kind === kind);
function only(ms: Manifest[], kind: string, name: string): Manifest {
  const found = ms.filter((m) => m.kind === kind && m.metadata.name === name);
  assert.equal(found.length, 1, `exactly one ${kind} ${name} (found ${String(found.length)})`);
  return found[0]!;
}

function podSpec(workload: Manifest): PodSpec {
  assert.ok(workload.spec?.template !== undefined, `${workload.metadata.name} has a pod template`);
  return workload.spec.template.spec;
}
function podLabels(workload: Manifest): Labels {
  assert.ok(workload.spec?.template !== undefined, `${workload.metadata.name} has a pod template`);
  return workload.spec.template.metadata.labels;
}
const container = (workload: Manifest): Container => {
  const cs = podSpec(workload).containers;
  assert.equal(cs.length, 1, `${workload.metadata.name}: one container`);
  return cs[0]!;
};

function envOf(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    assert.equal(e.valueFrom, undefined, `${e.name}: plain value`);
    assert.equal(typeof e.value, 'string', `${e.name} is a string`);
    assert.equal(Object.hasOwn(env, e.name), false, `${e.name} set once`);
    env[e.name] = e.value!;
  }
  return env;
}

function portNumber(c: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const p = (c.ports ?? []).find((x) => x.name === port);
  assert.ok(p !== undefined, `${c.name}: no container port named ${port}`);
  return p.containerPort;
}

function podView(name: string, workload: Manifest): PodView {
  const ports: Record<string, number> = {};
  for (const p of container(workload).ports ?? []) ports[p.name] = p.containerPort;
  return { name, namespace: NS, namespaceLabels: NS_LABELS, labels: podLabels(workload), ports };
}

const FULL = `${RELEASE}-spike`;

interface Rendered {
  all: Manifest[];
  nexus: Manifest;
  keeper: Manifest;
  bootstrap: Manifest;
}
function components(all: Manifest[]): Rendered {
  return {
    all,
    nexus: only(all, 'StatefulSet', `${FULL}-nexus`),
    keeper: only(all, 'StatefulSet', `${FULL}-keeper`),
    bootstrap: only(all, 'Job', `${FULL}-bootstrap`),
  };
}

describe('Helm chart deploy/helm/spike', () => {
  let defaults: Rendered;
  let production: Rendered;

  before(async () => {
    helmHome = await mkdtemp(join(tmpdir(), 'spike-helm-'));
    defaults = components(render());
    production = components(
      render(['keeper.replicas=5', 'nexus.shamirThreshold=3', 'pilot.roles={superuser}']),
    );
  });
  after(async () => {
    if (helmHome !== '') await rm(helmHome, { recursive: true, force: true });
  });

  it('helm lint --strict passes with the default and the production values', async () => {
    const values = join(helmHome, 'production.yaml');
    await writeFile(values, 'keeper:\n  replicas: 5\nnexus:\n  shamirThreshold: 3\n');
    for (const extra of [[], ['--values', values]]) {
      const r = helm(['lint', CHART, '--strict', '--namespace', NS, ...extra]);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders Nexus (1 replica), N keepers, the bootstrap hook Job, PDBs and NetworkPolicies', () => {
    for (const [r, n] of [
      [defaults, 3],
      [production, 5],
    ] as const) {
      assert.equal(r.nexus.spec.replicas, 1);
      assert.equal(r.keeper.spec.replicas, n);
      // An upgrade restarts no keeper by itself (each restart empties one).
      assert.equal(r.keeper.spec.updateStrategy?.type, 'OnDelete');
      assert.equal(r.bootstrap.metadata.annotations?.['helm.sh/hook'], 'post-install');
      // Hook resources are not removed by helm uninstall: the Job by its TTL, its account on success.
      assert.equal(typeof r.bootstrap.spec.ttlSecondsAfterFinished, 'number');
      const account = only(r.all, 'ServiceAccount', `${FULL}-bootstrap`);
      assert.equal(account.metadata.annotations?.['helm.sh/hook'], 'post-install');
      assert.equal(
        account.metadata.annotations?.['helm.sh/hook-delete-policy'],
        'before-hook-creation,hook-succeeded',
      );
      assert.equal(podSpec(r.bootstrap).restartPolicy, 'Never');
      assert.deepEqual(
        byKind(r.all, 'PodDisruptionBudget')
          .map((m) => m.metadata.name)
          .sort(),
        [`${FULL}-keeper`, `${FULL}-nexus`],
      );
      assert.equal(byKind(r.all, 'NetworkPolicy').length, 3);
    }
    // Exit 3 (live system, nothing changed) and 2 (bad settings) end the Job; no retry loop.
    const rules = defaults.bootstrap.spec.podFailurePolicy?.rules ?? [];
    assert.deepEqual(rules.find((x) => x.onExitCodes !== undefined)?.onExitCodes?.values, [2, 3]);
    assert.equal(rules.find((x) => x.onExitCodes !== undefined)?.action, 'FailJob');
  });

  it('every component gets exactly one ClusterSPIFFEID, and its ID carries the component role only', () => {
    const cases: Array<[Rendered, Manifest, SpikeRole, string]> = [];
    for (const r of [defaults, production]) {
      cases.push([r, r.nexus, 'nexus', `${FULL}-nexus-0`]);
      cases.push([r, r.keeper, 'keeper', `${FULL}-keeper-2`]);
      cases.push([r, r.bootstrap, 'bootstrap', `${FULL}-bootstrap-x7k2p`]);
    }
    // Pilot roles, when asked for: an operator pod labelled for the role.
    const pilotLabels = { ...podLabels(production.nexus), 'app.kubernetes.io/component': 'pilot-superuser' };
    for (const [r, workload, role, podName] of cases) {
      const labels = podLabels(workload);
      const ids = byKind(r.all, 'ClusterSPIFFEID').filter(
        (m) => selects(m.spec.namespaceSelector, NS_LABELS) && selects(m.spec.podSelector, labels),
      );
      assert.equal(ids.length, 1, `${role}: exactly one ClusterSPIFFEID selects its pods`);
      const template = ids[0]!.spec.spiffeIDTemplate as string;
      const td = 'spike.ist';
      const id = template.replace('{{ .TrustDomain }}', td).replace('{{ .PodMeta.Name }}', podName);
      assert.doesNotMatch(id, /\{\{/, `${template}: only TrustDomain and PodMeta.Name are used`);
      const roots = trustRootsFromEnv(envOf(container(workload)));
      for (const other of SPIKE_ROLES) {
        assert.equal(
          hasRole(id, other, roots),
          other === role,
          `${id} is ${other === role ? '' : 'not '}${other}`,
        );
      }
      // A pod of another namespace with the same labels gets nothing from this release.
      assert.equal(
        selects(ids[0]!.spec.namespaceSelector, { 'kubernetes.io/metadata.name': 'other' }),
        false,
        'namespace-bound',
      );
    }
    const pilot = byKind(production.all, 'ClusterSPIFFEID').filter((m) =>
      selects(m.spec.podSelector, pilotLabels),
    );
    assert.equal(pilot.length, 1);
    assert.match(pilot[0]!.spec.spiffeIDTemplate as string, /\/spike\/pilot\/role\/superuser\//);
    assert.equal(
      byKind(defaults.all, 'ClusterSPIFFEID').filter((m) => selects(m.spec.podSelector, pilotLabels)).length,
      0,
      'no Pilot role unless asked for',
    );
  });

  it("each component's environment passes its own configuration loader, and everyone names the same keepers", () => {
    for (const r of [defaults, production]) {
      const n = r.keeper.spec.replicas as number;
      const nexusEnv = envOf(container(r.nexus));
      const nexus = loadConfig(nexusEnv);
      const keeper = loadKeeperConfig(envOf(container(r.keeper)));
      const bootstrap = loadBootstrapConfig(envOf(container(r.bootstrap)));
      assert.equal(nexus.backend, 'sqlite');
      assert.equal(nexus.dataDir, '/var/lib/spike/data');
      assert.equal(nexus.shamirShares, n);
      assert.equal(bootstrap.shares, n);
      assert.equal(bootstrap.threshold, nexus.shamirThreshold);
      assert.deepEqual(bootstrap.keeperPeers, nexus.keeperPeers, 'same keepers, same order');
      // Keeper i is the StatefulSet's pod i under its headless Service, on the keeper's port.
      const svc = only(r.all, 'Service', r.keeper.spec.serviceName as string);
      assert.equal(svc.spec.clusterIP, 'None');
      assert.equal(svc.spec.publishNotReadyAddresses, true);
      assert.deepEqual(
        nexus.keeperPeers,
        Array.from(
          { length: n },
          (_, i) =>
            `https://${r.keeper.metadata.name}-${String(i)}.${svc.metadata.name}.${NS}.svc.cluster.local:${String(keeper.port)}`,
        ),
      );
      // The data volume is mounted where Nexus keeps its database.
      const mounts = container(r.nexus).volumeMounts ?? [];
      assert.ok(mounts.some((m) => m.name === 'data' && m.mountPath === '/var/lib/spike'));
      assert.equal(r.nexus.spec.volumeClaimTemplates?.[0]?.metadata.name, 'data');
      // The bootstrap reaches Nexus through a Service that lists it before it is ready.
      const url = new URL(bootstrap.nexusApiUrl);
      const internal = only(r.all, 'Service', url.hostname.split('.')[0]!);
      assert.equal(internal.spec.publishNotReadyAddresses, true);
      assert.ok(selects({ matchLabels: internal.spec.selector ?? {} }, podLabels(r.nexus)));
      assert.equal(String(internal.spec.ports?.[0]?.port), url.port);
      assert.equal(
        portNumber(container(r.nexus), internal.spec.ports?.[0]?.targetPort ?? 'none'),
        nexus.listen.port,
      );
      // Every component reads the Workload API socket from the read-only CSI volume.
      for (const w of [r.nexus, r.keeper, r.bootstrap]) {
        const socket = envOf(container(w)).SPIFFE_ENDPOINT_SOCKET!;
        const mount = (container(w).volumeMounts ?? []).find((m) =>
          socket.startsWith(`unix://${m.mountPath}/`),
        );
        assert.ok(
          mount !== undefined && mount.readOnly === true,
          `${w.metadata.name}: socket on a read-only mount`,
        );
        const volume = (podSpec(w).volumes as Array<{ name: string; csi?: { driver: string } }>).find(
          (v) => v.name === mount.name,
        );
        assert.equal(volume?.csi?.driver, 'csi.spiffe.io');
      }
    }
  });

  it('probes hit the health listener Nexus is configured with, and the keepers’ mTLS port', () => {
    const c = container(defaults.nexus);
    const nexus = loadConfig(envOf(c));
    assert.ok(nexus.health !== null, 'Nexus health listener is on');
    for (const probe of [c.startupProbe, c.livenessProbe]) {
      assert.equal(probe?.httpGet?.path, '/healthz');
      assert.equal(portNumber(c, probe.httpGet.port), nexus.health.port);
    }
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(portNumber(c, c.readinessProbe.httpGet.port), nexus.health.port);
    assert.notEqual(nexus.health.port, nexus.listen.port);

    const k = container(defaults.keeper);
    const keeper = loadKeeperConfig(envOf(k));
    for (const probe of [k.readinessProbe, k.livenessProbe]) {
      assert.ok(probe?.tcpSocket !== undefined, 'keepers have no health listener: a TCP probe');
      assert.equal(portNumber(k, probe.tcpSocket.port), keeper.port);
    }
    assert.equal(k.startupProbe, undefined);
  });

  it('NetworkPolicies: only Nexus and the bootstrap reach keepers; workloads reach the Nexus API only', () => {
    for (const r of [defaults, production]) {
      const policies = byKind(r.all, 'NetworkPolicy');
      const keeper = podView('keeper', r.keeper);
      const nexus = podView('nexus', r.nexus);
      const bootstrap = podView('bootstrap', r.bootstrap);
      const keeperPort = keeper.ports['mtls']!;
      const apiPort = nexus.ports['api']!;
      const healthPort = nexus.ports['health']!;
      const allowed = (from: PodView, to: PodView, port: number): boolean =>
        connectionAllowed(policies, from, to, port, NS);

      assert.equal(allowed(nexus, keeper, keeperPort), true, 'Nexus -> keeper');
      assert.equal(allowed(bootstrap, keeper, keeperPort), true, 'bootstrap -> keeper');
      assert.equal(allowed(nexus, keeper, 9999), false, 'Nexus -> keeper, another port');

      const instance = podLabels(r.nexus)['app.kubernetes.io/instance']!;
      const workload = (name: string, labels: Labels, namespace = NS): PodView => ({
        name,
        namespace,
        namespaceLabels: { 'kubernetes.io/metadata.name': namespace },
        labels,
        ports: {},
      });
      const workloads = [
        workload('app in the same namespace', { app: 'shop' }),
        workload('app in another namespace', { app: 'shop' }, 'apps'),
        workload('pod with the release labels but another component', {
          ...podLabels(r.nexus),
          'app.kubernetes.io/component': 'web',
        }),
        workload('Nexus of another release', {
          ...podLabels(r.nexus),
          'app.kubernetes.io/instance': `${instance}-2`,
        }),
        workload('Nexus look-alike in another namespace', podLabels(r.nexus), 'apps'),
        workload('bootstrap look-alike in another namespace', podLabels(r.bootstrap), 'apps'),
        workload('bootstrap of another release', {
          ...podLabels(r.bootstrap),
          'app.kubernetes.io/instance': `${instance}-2`,
        }),
        workload('pod with no labels', {}),
        workload('Pilot operator pod', {
          ...podLabels(r.nexus),
          'app.kubernetes.io/component': 'pilot-superuser',
        }),
        keeper,
      ];
      for (const w of workloads) {
        assert.equal(allowed(w, keeper, keeperPort), false, `${w.name} must not reach a keeper`);
        if (w !== keeper) {
          assert.equal(allowed(w, nexus, apiPort), true, `${w.name} reaches the Nexus API`);
          assert.equal(allowed(w, nexus, healthPort), false, `${w.name} does not reach Nexus's health port`);
          assert.equal(allowed(w, bootstrap, 8080), false, `${w.name} does not reach the bootstrap pod`);
        }
      }
      // Keepers open no connections at all.
      assert.equal(allowed(keeper, nexus, apiPort), false, 'keeper egress is denied');
    }
  });

  it('pods and containers are locked down', () => {
    for (const w of [defaults.nexus, defaults.keeper, defaults.bootstrap]) {
      const spec = podSpec(w);
      assert.equal(spec.automountServiceAccountToken, false, w.metadata.name);
      assert.equal(spec.hostNetwork ?? false, false);
      assert.equal(spec.hostPID ?? false, false);
      assert.equal(spec.securityContext.runAsNonRoot, true);
      assert.ok((spec.securityContext.runAsUser ?? 0) > 0);
      assert.equal(spec.securityContext.seccompProfile?.type, 'RuntimeDefault');
      assert.equal(
        (spec.volumes ?? []).some((v) => v.hostPath !== undefined),
        false,
        'no hostPath volume',
      );
      const c = container(w);
      assert.deepEqual(c.securityContext, {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
      // One image for all components; the command picks the component.
      assert.equal(c.image, container(defaults.nexus).image);
      assert.equal(c.args, undefined);
      const component = w.metadata.name.slice(FULL.length + 1);
      assert.deepEqual(c.command, [`/usr/local/bin/spike-${component}`]);
      assert.equal(spec.serviceAccountName, `${FULL}-${component}`);
    }
  });

  it('postgres: several Nexus replicas on one database, no volume, password and CA as files', async () => {
    const set = [
      'nexus.backend=postgres',
      'nexus.replicas=3',
      'nexus.apiThreads=auto',
      'nexus.postgres.url=postgresql://spike_app@db.example:5432/spike',
      'nexus.postgres.passwordSecret=spike-db',
      'nexus.postgres.caConfigMap=spike-db-ca',
      'nexus.pdb.maxUnavailable=1',
    ];
    const r = components(render(set));
    assert.equal(r.nexus.spec.replicas, 3);
    assert.equal(r.nexus.spec.podManagementPolicy, 'Parallel');
    assert.equal(r.nexus.spec.volumeClaimTemplates, undefined, 'no SQLite volume');
    const c = container(r.nexus);
    assert.equal(
      (c.volumeMounts ?? []).some((m) => m.name === 'data'),
      false,
    );
    const nexus = loadConfig(envOf(c));
    assert.equal(nexus.backend, 'postgres');
    assert.equal(nexus.apiThreadsAuto, true, 'API threads not pinned to 1');
    assert.equal(nexus.db.skipSchemaCreation, true);
    assert.equal(nexus.postgres?.sslMode, 'verify-full');
    assert.equal(nexus.postgres?.url.host, 'db.example');
    assert.equal(nexus.postgres?.url.user, 'spike_app');
    // The password and the CA come from the named Secret and ConfigMap, mounted read-only where
    // the settings point.
    const volumes = podSpec(r.nexus).volumes as Array<{
      name: string;
      secret?: { secretName: string; items: Array<{ key: string; path: string }> };
      configMap?: { name: string; items: Array<{ key: string; path: string }> };
    }>;
    const fileFrom = (path: string | undefined) => {
      assert.ok(path !== undefined);
      const mount = (c.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath}/`));
      assert.ok(mount !== undefined && mount.readOnly === true, `${path} on a read-only mount`);
      const volume = volumes.find((v) => v.name === mount.name);
      const file = path.slice(mount.mountPath.length + 1);
      return { volume, file };
    };
    const password = fileFrom(nexus.postgres?.passwordFile);
    assert.equal(password.volume?.secret?.secretName, 'spike-db');
    assert.deepEqual(password.volume?.secret?.items, [{ key: 'password', path: password.file }]);
    const ca = fileFrom(nexus.postgres?.sslRootCert);
    assert.equal(ca.volume?.configMap?.name, 'spike-db-ca');
    assert.deepEqual(ca.volume?.configMap?.items, [{ key: 'ca.crt', path: ca.file }]);
    // No password anywhere in the environment.
    assert.doesNotMatch(JSON.stringify(c.env), /password=|:[^@/]*@db/);
    // The bootstrap asks every replica (its live-system check refuses if any holds a key).
    const bootstrap = loadBootstrapConfig(envOf(container(r.bootstrap)));
    const internal = only(r.all, 'Service', `${FULL}-nexus-internal`);
    assert.deepEqual(
      bootstrap.nexusApiUrls,
      [0, 1, 2].map(
        (i) =>
          `https://${FULL}-nexus-${String(i)}.${internal.metadata.name}.${NS}.svc.cluster.local:${String(nexus.listen.port)}`,
      ),
    );
    assert.equal(only(r.all, 'PodDisruptionBudget', `${FULL}-nexus`).spec.maxUnavailable, 1);
    // And it lints.
    const values = join(helmHome, 'postgres.yaml');
    await writeFile(
      values,
      'nexus:\n  backend: postgres\n  replicas: 3\n  apiThreads: auto\n' +
        '  postgres:\n    url: postgresql://spike_app@db.example:5432/spike\n    passwordSecret: spike-db\n',
    );
    const lint = helm(['lint', CHART, '--strict', '--namespace', NS, '--values', values]);
    assert.equal(lint.status, 0, `${lint.stdout}\n${lint.stderr}`);
  });

  it('refuses values that cannot work, with a message', () => {
    const cases: Array<[string[], RegExp]> = [
      [['nexus.replicas=2'], /nexus\.replicas above 1 needs nexus\.backend=postgres/],
      [['nexus.backend=mysql'], /nexus\.backend must be sqlite or postgres, got "mysql"/],
      [['nexus.backend=postgres'], /nexus\.postgres\.url is required with nexus\.backend=postgres/],
      [['nexus.replicas=0'], /nexus\.replicas must be at least 1/],
      [['nexus.shamirThreshold=4'], /nexus\.shamirThreshold must be from 1 to keeper\.replicas \(3\), got 4/],
      [['nexus.shamirThreshold=0'], /nexus\.shamirThreshold must be from 1/],
      [['keeper.replicas=0'], /keeper\.replicas must be at least 1/],
      [['pilot.roles={admin}'], /pilot\.roles: "admin" is not a Pilot role/],
      [['keeper.updateStrategy=Recreate'], /keeper\.updateStrategy must be OnDelete or RollingUpdate/],
    ];
    for (const [set, message] of cases) {
      const r = helm(['template', RELEASE, CHART, '--namespace', NS, ...set.flatMap((s) => ['--set', s])]);
      assert.notEqual(r.status, 0, set.join(' '));
      assert.match(r.stderr, message);
    }
  });

  it('keepers roll one at a time with minReadySeconds when RollingUpdate is chosen', () => {
    const keeper = only(render(['keeper.updateStrategy=RollingUpdate']), 'StatefulSet', `${FULL}-keeper`);
    assert.equal(keeper.spec.updateStrategy?.type, 'RollingUpdate');
    assert.equal(keeper.spec.minReadySeconds, 30);
  });

  it('switches: no bootstrap Job, no ClusterSPIFFEIDs, no NetworkPolicies when turned off', () => {
    const off = render([
      'bootstrap.enabled=false',
      'spire.clusterSPIFFEIDs=false',
      'networkPolicy.enabled=false',
    ]);
    assert.equal(byKind(off, 'Job').length, 0);
    assert.equal(byKind(off, 'ClusterSPIFFEID').length, 0);
    assert.equal(byKind(off, 'NetworkPolicy').length, 0);
    const noBootstrap = render(['bootstrap.enabled=false']);
    assert.deepEqual(
      byKind(noBootstrap, 'ClusterSPIFFEID')
        .map((m) => m.spec.hint as string)
        .sort(),
      ['keeper', 'nexus'],
    );
  });
});
