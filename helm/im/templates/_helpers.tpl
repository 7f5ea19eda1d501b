{{/* Names and labels follow the bitnami common library; component helpers take
     (dict "root" $ "component" "gateway"). */}}

{{/* The services in scripts/run.sh's start order. */}}
{{- define "im.services" -}}
sequence gateway message conversation extension
{{- end }}

{{- define "im.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "im.fullname" -}}
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

{{- define "im.component.fullname" -}}
{{- printf "%s-%s" (include "im.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "im.labels.matchLabels" -}}
app.kubernetes.io/name: {{ include "im.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "im.labels.standard" -}}
{{ include "im.labels.matchLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "im.image" -}}
{{- $image := .root.Values.image }}
{{- $repository := printf "%s/%s" $image.repository .component }}
{{- if $image.registry }}{{ $repository = printf "%s/%s" $image.registry $repository }}{{ end }}
{{- printf "%s:%s" $repository (default .root.Chart.AppVersion $image.tag) }}
{{- end }}

{{/* The Secret and key holding the Postgres URI for the services. */}}
{{- define "im.postgres.secretName" -}}
{{- default (include "im.fullname" .) .Values.postgres.existingSecret }}
{{- end }}
{{- define "im.postgres.secretKey" -}}
{{- ternary .Values.postgres.existingSecretKey "postgres-dsn" (ne .Values.postgres.existingSecret "") }}
{{- end }}

{{- define "im.jwt.enabled" -}}
{{- if or .Values.jwt.secret .Values.jwt.existingSecret }}true{{ end }}
{{- end }}
{{- define "im.jwt.secretName" -}}
{{- default (include "im.fullname" .) .Values.jwt.existingSecret }}
{{- end }}
{{- define "im.jwt.secretKey" -}}
{{- ternary .Values.jwt.existingSecretKey "jwt-secret" (ne .Values.jwt.existingSecret "") }}
{{- end }}

{{/* The chart-made Secrets' data: the Postgres URI also goes to the migration hook's Secret. */}}
{{- define "im.secretData.postgres" -}}
postgres-dsn: {{ tpl (required "set postgres.dsn or postgres.existingSecret" .Values.postgres.dsn) . | b64enc }}
{{- end }}
{{- define "im.secretData" -}}
{{- if not .Values.postgres.existingSecret }}
{{ include "im.secretData.postgres" . }}
{{- end }}
{{- if and .Values.jwt.secret (not .Values.jwt.existingSecret) }}
jwt-secret: {{ .Values.jwt.secret | b64enc }}
{{- end }}
{{- end }}

{{/* Environment every service and the migration Job get, as run.sh gives it: the stores and every
     peer's address (a binary reads only the variables matching its flags). A YAML map, the
     ConfigMap's data. */}}
{{- define "im.config" -}}
IM_LISTEN_HOST: "0.0.0.0"
IM_REDIS_ADDR: {{ tpl (required "set redis.addr" .Values.redis.addr) . | quote }}
IM_LOG_LEVEL: {{ .Values.logLevel | quote }}
IM_DRAIN_TIMEOUT: {{ printf "%ds" (int .Values.drain.timeoutSeconds) | quote }}
{{- range $svc := splitList " " (include "im.services" .) }}
{{- $values := index $.Values $svc }}
{{- if $values.enabled }}
IM_{{ upper $svc }}_ADDR: {{ printf "%s:%d" (include "im.component.fullname" (dict "root" $ "component" $svc)) (int $values.grpcPort) | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* env entries for IM_POSTGRES_DSN (and the gateway's IM_JWT_SECRET), from the given Secret. */}}
{{- define "im.env.postgres" -}}
- name: IM_POSTGRES_DSN
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ include "im.postgres.secretKey" .root }}
{{- end }}

{{/* Flags the chart sets from its own values; setting them through <service>.flags would fight. */}}
{{- define "im.ownedFlags" -}}
listen_host grpc_port metrics_port postgres_dsn redis_addr log_level drain_timeout auto_migrate migrate_only ws_port advertise_addr close_timeout jwt_secret sequence_addr gateway_addr message_addr conversation_addr extension_addr
{{- end }}

{{- define "im.env.flags" -}}
{{- $owned := splitList " " (include "im.ownedFlags" .root) }}
{{- range $flag, $value := (index .root.Values .component).flags }}
{{- if has $flag $owned }}
{{- fail (printf "%s.flags.%s is set by the chart from other values; see values.yaml" $.component $flag) }}
{{- end }}
{{- /* Values reach templates as float64: 1000000 would print as 1e+06, which an int flag refuses. */}}
{{- if and (kindIs "float64" $value) (eq $value (float64 (int64 $value))) }}
{{- $value = int64 $value }}
{{- end }}
- name: IM_{{ upper $flag }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{- define "im.probe" -}}
grpc:
  port: {{ .port }}
{{ toYaml .timings }}
{{- end }}

{{- define "im.affinity" -}}
{{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (fromYaml (include "im.labels.matchLabels" .))) }}
{{- if eq .root.Values.podAntiAffinity "soft" }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm: {{- toYaml $term | nindent 8 }}
{{- else if eq .root.Values.podAntiAffinity "hard" }}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution: {{- toYaml (list $term) | nindent 4 }}
{{- else if ne .root.Values.podAntiAffinity "none" }}
{{- fail "podAntiAffinity must be soft, hard or none" }}
{{- end }}
{{- end }}

{{/* Hook annotations of the migration Job and its Secret. A pre-install hook runs before the
     release's own objects exist, so with devStores (in the release) migrations run post-install. */}}
{{- define "im.migrations.hook" -}}
helm.sh/hook: {{ ternary "post-install,pre-upgrade" "pre-install,pre-upgrade" .Values.devStores.enabled }}
{{- end }}
