{{/*
Names, labels and shared pod parts of the SPIKE-TS chart.
*/}}

{{/* "<release>-spike", or fullnameOverride; at most 52 characters so suffixes fit in 63. */}}
{{- define "spike.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else if contains "spike" .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-spike" .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select one component's pods: pass (dict "ctx" $ "component" "nexus"). */}}
{{- define "spike.selectorLabels" -}}
app.kubernetes.io/name: spike
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "spike.labels" -}}
{{ include "spike.selectorLabels" . }}
app.kubernetes.io/part-of: spike
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "spike.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* Keeper i's URL, i from 0: the StatefulSet pod's stable DNS name under the headless Service. */}}
{{- define "spike.keeperPeers" -}}
{{- $full := include "spike.fullname" . -}}
{{- $peers := list -}}
{{- range $i, $_ := until (int .Values.keeper.replicas) -}}
{{- $peers = append $peers (printf "https://%s-keeper-%d.%s-keeper.%s.svc.%s:%d" $full $i $full $.Release.Namespace $.Values.clusterDomain (int $.Values.keeper.port)) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/*
Nexus's URL for the bootstrap: the Service that lists Nexus before it is ready. With several
replicas, every replica's own URL (comma-separated): the bootstrap's live-system check asks each.
*/}}
{{- define "spike.nexusInternalUrl" -}}
{{- $full := include "spike.fullname" . -}}
{{- if gt (int .Values.nexus.replicas) 1 -}}
{{- $urls := list -}}
{{- range $i, $_ := until (int .Values.nexus.replicas) -}}
{{- $urls = append $urls (printf "https://%s-nexus-%d.%s-nexus-internal.%s.svc.%s:%d" $full $i $full $.Release.Namespace $.Values.clusterDomain (int $.Values.nexus.apiPort)) -}}
{{- end -}}
{{- join "," $urls -}}
{{- else -}}
{{- printf "https://%s-nexus-internal.%s.svc.%s:%d" $full .Release.Namespace .Values.clusterDomain (int .Values.nexus.apiPort) -}}
{{- end -}}
{{- end -}}

{{- define "spike.checkValues" -}}
{{- $n := int .Values.keeper.replicas -}}
{{- $t := int .Values.nexus.shamirThreshold -}}
{{- if lt $n 1 -}}{{- fail "keeper.replicas must be at least 1" -}}{{- end -}}
{{- if not (has .Values.keeper.updateStrategy (list "OnDelete" "RollingUpdate")) -}}
{{- fail (printf "keeper.updateStrategy must be OnDelete or RollingUpdate, got %q" .Values.keeper.updateStrategy) -}}
{{- end -}}
{{- if not (has .Values.nexus.backend (list "sqlite" "postgres")) -}}
{{- fail (printf "nexus.backend must be sqlite or postgres, got %q" .Values.nexus.backend) -}}
{{- end -}}
{{- if lt (int .Values.nexus.replicas) 1 -}}{{- fail "nexus.replicas must be at least 1" -}}{{- end -}}
{{- if and (gt (int .Values.nexus.replicas) 1) (ne .Values.nexus.backend "postgres") -}}
{{- fail "nexus.replicas above 1 needs nexus.backend=postgres (SQLite has one writer)" -}}
{{- end -}}
{{- if and (eq .Values.nexus.backend "postgres") (not .Values.nexus.postgres.url) -}}
{{- fail "nexus.postgres.url is required with nexus.backend=postgres (postgresql://USER@HOST:PORT/DATABASE)" -}}
{{- end -}}
{{- if or (lt $t 1) (gt $t $n) -}}
{{- fail (printf "nexus.shamirThreshold must be from 1 to keeper.replicas (%d), got %d" $n $t) -}}
{{- end -}}
{{- end -}}

{{/* Environment every component shares: the Workload API socket and the trust roots. */}}
{{- define "spike.commonEnv" -}}
- name: SPIFFE_ENDPOINT_SOCKET
  value: {{ printf "unix:///spiffe-workload-api/%s" .Values.spire.socketFile | quote }}
- name: SPIKE_SPIFFE_SOURCE_TIMEOUT
  value: {{ .Values.spire.sourceTimeout | quote }}
{{- range list "NEXUS" "KEEPER" "BOOTSTRAP" "PILOT" "LITE_WORKLOAD" }}
- name: SPIKE_TRUST_ROOT_{{ . }}
  value: {{ $.Values.trustDomain | quote }}
{{- end }}
- name: SPIKE_SYSTEM_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{/* The Workload API socket (read-only, from the SPIFFE CSI driver) and a small /tmp. */}}
{{- define "spike.volumes" -}}
- name: spiffe-workload-api
  csi:
    driver: {{ .Values.spire.csiDriver | quote }}
    readOnly: true
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- end -}}

{{- define "spike.volumeMounts" -}}
- name: spiffe-workload-api
  mountPath: /spiffe-workload-api
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "spike.podSecurity" -}}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
