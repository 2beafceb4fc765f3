/**
 * Just enough of Kubernetes' semantics to check rendered manifests: label selectors, which
 * NetworkPolicies admit a connection, and the pod templates of workload objects. Used by the Helm
 * chart test (helm-chart.test.ts); it follows the NetworkPolicy rules of networking.k8s.io/v1:
 * a pod selected by no policy of a direction allows everything in it; otherwise a connection is
 * allowed when some rule of some selecting policy admits both the peer and the port.
 */

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelector {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: ReadonlyArray<{
    readonly key: string;
    readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    readonly values?: readonly string[];
  }>;
}

/** A rendered manifest: the fields of the kinds the chart renders that the tests read. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Labels;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  /** Always present once parsed (`{}` for kinds without one). */
  readonly spec: ManifestSpec;
}

export interface ManifestSpec {
  // StatefulSet, Job
  readonly replicas?: number;
  readonly serviceName?: string;
  readonly podManagementPolicy?: string;
  readonly updateStrategy?: { readonly type: string };
  readonly minReadySeconds?: number;
  readonly ttlSecondsAfterFinished?: number;
  readonly template?: { readonly metadata: { readonly labels: Labels }; readonly spec: PodSpec };
  readonly volumeClaimTemplates?: ReadonlyArray<{ readonly metadata: { readonly name: string } }>;
  readonly podFailurePolicy?: {
    readonly rules: ReadonlyArray<{
      readonly action: string;
      readonly onExitCodes?: { readonly values: number[] };
    }>;
  };
  // Service (selector is plain labels there)
  readonly selector?: Labels;
  readonly clusterIP?: string;
  readonly publishNotReadyAddresses?: boolean;
  readonly ports?: ReadonlyArray<{ readonly port: number; readonly targetPort: number | string }>;
  // NetworkPolicy, ClusterSPIFFEID
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly policyTypes?: readonly string[];
  readonly ingress?: readonly Rule[] | null;
  readonly egress?: readonly Rule[] | null;
  readonly spiffeIDTemplate?: string;
  readonly hint?: string;
  // PodDisruptionBudget
  readonly maxUnavailable?: number;
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly volumes?: ReadonlyArray<{
    readonly name: string;
    readonly csi?: { readonly driver: string };
    readonly hostPath?: unknown;
  }>;
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly restartPolicy?: string;
  readonly securityContext: {
    readonly runAsNonRoot?: boolean;
    readonly runAsUser?: number;
    readonly seccompProfile?: { readonly type: string };
  };
}

export interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: number | string };
  readonly tcpSocket?: { readonly port: number | string };
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: ReadonlyArray<{
    readonly name: string;
    readonly value?: string;
    readonly valueFrom?: unknown;
  }>;
  readonly ports?: ReadonlyArray<{ readonly name: string; readonly containerPort: number }>;
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly securityContext?: Readonly<Record<string, unknown>>;
  readonly volumeMounts?: ReadonlyArray<{
    readonly name: string;
    readonly mountPath: string;
    readonly readOnly?: boolean;
  }>;
}

/** An empty selector selects everything; an absent one (undefined) nothing. */
export function selects(selector: LabelSelector | undefined | null, labels: Labels): boolean {
  if (selector === undefined || selector === null) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expr.key);
    const value = labels[expr.key];
    const ok =
      expr.operator === 'In'
        ? has && (expr.values ?? []).includes(value!)
        : expr.operator === 'NotIn'
          ? !has || !(expr.values ?? []).includes(value!)
          : expr.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** A pod as NetworkPolicies see it, with its container ports (name -> number). */
export interface PodView {
  readonly name: string;
  readonly namespace: string;
  readonly namespaceLabels: Labels;
  readonly labels: Labels;
  readonly ports: Readonly<Record<string, number>>;
}

interface Peer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: unknown;
}
export interface Rule {
  readonly from?: readonly Peer[];
  readonly to?: readonly Peer[];
  readonly ports?: ReadonlyArray<{ readonly port?: number | string; readonly protocol?: string }>;
}

function peerMatches(peers: readonly Peer[] | undefined, policyNamespace: string, other: PodView): boolean {
  // No peers listed: every source (or destination).
  if (peers === undefined || peers.length === 0) return true;
  return peers.some((peer) => {
    // An ipBlock may cover pod addresses; count it as admitting everyone, so a test notices it.
    if (peer.ipBlock !== undefined) return true;
    const nsOk =
      peer.namespaceSelector === undefined
        ? other.namespace === policyNamespace
        : selects(peer.namespaceSelector, other.namespaceLabels);
    const podOk = peer.podSelector === undefined ? true : selects(peer.podSelector, other.labels);
    return nsOk && podOk;
  });
}

function portMatches(rule: Rule, port: number, target: PodView): boolean {
  if (rule.ports === undefined || rule.ports.length === 0) return true;
  return rule.ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== 'TCP') return false;
    if (p.port === undefined) return true;
    return typeof p.port === 'number' ? p.port === port : target.ports[p.port] === port;
  });
}

function policiesFor(
  policies: readonly Manifest[],
  pod: PodView,
  type: 'Ingress' | 'Egress',
  ns: string,
): Manifest[] {
  return policies.filter((p) => {
    if ((p.metadata.namespace ?? ns) !== pod.namespace) return false;
    if (!selects(p.spec.podSelector, pod.labels)) return false;
    const types = p.spec.policyTypes ?? ['Ingress'];
    return types.includes(type);
  });
}

/**
 * Whether `from` may open a TCP connection to `to` on `port`: `to`'s ingress policies and
 * `from`'s egress policies must both allow it. `ns` is the namespace of policies without one.
 */
export function connectionAllowed(
  policies: readonly Manifest[],
  from: PodView,
  to: PodView,
  port: number,
  ns: string,
): boolean {
  const ingress = policiesFor(policies, to, 'Ingress', ns);
  const inOk =
    ingress.length === 0 ||
    ingress.some((p) =>
      (p.spec.ingress ?? []).some(
        (rule) => peerMatches(rule.from, p.metadata.namespace ?? ns, from) && portMatches(rule, port, to),
      ),
    );
  const egress = policiesFor(policies, from, 'Egress', ns);
  const outOk =
    egress.length === 0 ||
    egress.some((p) =>
      (p.spec.egress ?? []).some(
        (rule) => peerMatches(rule.to, p.metadata.namespace ?? ns, to) && portMatches(rule, port, to),
      ),
    );
  return inOk && outOk;
}
