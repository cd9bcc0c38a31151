{{/* Chart name, truncated to the 63 characters of a label value. */}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's resources. */}}
{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "vigil.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vigil
{{- end }}

{{/* Labels that select the agent pods. */}}
{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the ServiceAccount. */}}
{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference. */}}
{{- define "vigil.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The agent's config.yaml: what the chart owns (rules files, metrics port,
cgroup and runtime socket paths, tenancy, NATS) with .Values.config merged
over it.
*/}}
{{- define "vigil.config" -}}
{{- $rulesFiles := list }}
{{- if .Values.rules.defaults }}
{{- $rulesFiles = append $rulesFiles "/etc/vigil/rules/vigil_rules.yaml" }}
{{- end }}
{{- $rulesFiles = append $rulesFiles "/etc/vigil/rules.d/custom" }}
{{- range .Values.rules.extraConfigMaps }}
{{- $rulesFiles = append $rulesFiles (printf "/etc/vigil/rules.d/%s" .) }}
{{- end }}
{{- $sockets := list }}
{{- range .Values.containerRuntime.sockets }}
{{- $sockets = append $sockets (printf "/host%s" .) }}
{{- end }}
{{- $base := dict
  "rules" (dict "files" $rulesFiles "watch" true)
  "metrics" (dict "enabled" true "listen_address" (printf ":%d" (int .Values.metrics.port)))
  "enrich" (dict
    "cgroup_root" "/host/sys/fs/cgroup"
    "cri_sockets" $sockets
    "kubernetes" "auto"
    "cluster_name" .Values.clusterName
    "tenant_labels" .Values.tenancy.labels
    "static_tenants" .Values.tenancy.static) }}
{{- if .Values.nats.enabled }}
{{- $nats := dict
  "enabled" true
  "url" .Values.nats.url
  "subject" .Values.nats.subject
  "user" .Values.nats.user
  "jetstream" (dict "enabled" .Values.nats.jetstream.enabled "stream" .Values.nats.jetstream.stream "create_stream" .Values.nats.jetstream.createStream)
  "min_priority" .Values.nats.minPriority }}
{{- $_ := set $base "outputs" (dict "nats" $nats) }}
{{- end }}
{{- toYaml (mergeOverwrite $base (deepCopy .Values.config)) }}
{{- end }}

{{/*
A password in nats-server's config: $VARIABLE references stay bare (NATS
resolves them from its environment), anything else (bcrypt hashes, which
also start with "$") is quoted.
*/}}
{{- define "vigil.natsPassword" -}}
{{- if regexMatch "^\\$[A-Za-z_][A-Za-z0-9_]*$" . }}{{ . }}{{ else }}{{ . | quote }}{{ end }}
{{- end }}
