{{/* Names and labels. */}}
{{- define "nascar-pipeline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nascar-pipeline.fullname" -}}
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

{{- define "nascar-pipeline.api.fullname" -}}
{{- printf "%s-api" (include "nascar-pipeline.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nascar-pipeline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nascar-pipeline.labels" -}}
helm.sh/chart: {{ include "nascar-pipeline.chart" . }}
{{ include "nascar-pipeline.selectorLabels" . }}
app.kubernetes.io/version: {{ include "nascar-pipeline.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: nascar-pipeline
{{- end }}

{{- define "nascar-pipeline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nascar-pipeline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nascar-pipeline.api.labels" -}}
{{ include "nascar-pipeline.labels" . }}
app.kubernetes.io/component: api
{{- end }}

{{- define "nascar-pipeline.api.selectorLabels" -}}
{{ include "nascar-pipeline.selectorLabels" . }}
app.kubernetes.io/component: api
{{- end }}

{{- define "nascar-pipeline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nascar-pipeline.api.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image. */}}
{{- define "nascar-pipeline.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "nascar-pipeline.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "nascar-pipeline.imageTag" .) }}
{{- end }}

{{/* The API's ConfigMap. */}}
{{- define "nascar-pipeline.api.configMapName" -}}
{{- printf "%s-config" (include "nascar-pipeline.api.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The Dagster subchart's fullname, by the official chart's rule ("dagster.fullname": the release
name if it contains "dagster", else "<release>-dagster"; global.fullnameOverride and
global.nameOverride win). Used for its instance ConfigMap.
*/}}
{{- define "nascar-pipeline.dagster.fullname" -}}
{{- $d := .Values.dagster | default dict }}
{{- $g := merge (deepCopy (.Values.global | default dict)) ($d.global | default dict) }}
{{- if $g.fullnameOverride }}
{{- $g.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "dagster" $g.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* OTEL_* variables (string values) for a given service name. */}}
{{- define "nascar-pipeline.otelEnv" -}}
{{- $otel := index . 0 }}
{{- $service := index . 1 }}
{{- if $otel.enabled }}
OTEL_SDK_DISABLED: "false"
OTEL_EXPORTER_OTLP_ENDPOINT: {{ $otel.endpoint | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: {{ $otel.protocol | quote }}
OTEL_SERVICE_NAME: {{ $service | quote }}
OTEL_TRACES_SAMPLER: {{ $otel.tracesSampler | quote }}
OTEL_TRACES_SAMPLER_ARG: {{ $otel.tracesSamplerArg | quote }}
{{- $attrs := list }}
{{- range $k, $v := $otel.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" $k $v) }}
{{- end }}
OTEL_RESOURCE_ATTRIBUTES: {{ join "," $attrs | quote }}
{{- else }}
OTEL_SDK_DISABLED: "true"
{{- end }}
{{- end }}

{{/*
Render-time checks of what the schema cannot express: the places where the Dagster chart's
values (which cannot be templated) must agree with this chart's.
*/}}
{{- define "nascar-pipeline.validate" -}}
{{- $d := .Values.dagster | default dict }}
{{- if $d.enabled }}
  {{- $pgSecret := (($d.global | default dict).postgresqlSecretName) | default "" }}
  {{- if ne $pgSecret .Values.secrets.postgresql }}
    {{- fail (printf "dagster.global.postgresqlSecretName (%q) must equal secrets.postgresql (%q)" $pgSecret .Values.secrets.postgresql) }}
  {{- end }}
  {{- if $d.generatePostgresqlPasswordSecret }}
    {{- fail "dagster.generatePostgresqlPasswordSecret must be false: create the PostgreSQL Secret yourself (docs/deployment.md)" }}
  {{- end }}
  {{- $ud := index $d "dagster-user-deployments" | default dict }}
  {{- range $dep := ($ud.deployments | default list) }}
    {{- $cms := list }}
    {{- range ($dep.envConfigMaps | default list) }}{{ $cms = append $cms .name }}{{ end }}
    {{- if not (has $.Values.config.pipelineConfigMapName $cms) }}
      {{- fail (printf "code location %q must list envConfigMaps name %q (config.pipelineConfigMapName)" $dep.name $.Values.config.pipelineConfigMapName) }}
    {{- end }}
    {{- $secs := list }}
    {{- range ($dep.envSecrets | default list) }}{{ $secs = append $secs .name }}{{ end }}
    {{- if not (has $.Values.secrets.pipeline $secs) }}
      {{- fail (printf "code location %q must list envSecrets name %q (secrets.pipeline)" $dep.name $.Values.secrets.pipeline) }}
    {{- end }}
    {{- if or (ne $dep.image.repository $.Values.image.repository) (ne (toString $dep.image.tag) (include "nascar-pipeline.imageTag" $)) }}
      {{- fail (printf "code location %q image %s:%s differs from image %s" $dep.name $dep.image.repository (toString $dep.image.tag) (include "nascar-pipeline.image" $)) }}
    {{- end }}
  {{- end }}
  {{- if and (.Values.jaxCache | default dict).enabled (not .Values.dagsterInstance.enabled) }}
    {{- fail "jaxCache.enabled needs dagsterInstance.enabled: the cache volume is mounted on run pods by the run launcher of this chart's dagster.yaml" }}
  {{- end }}
  {{- if .Values.dagsterInstance.enabled }}
    {{- range $dep := ($ud.deployments | default list) }}
      {{- include "nascar-pipeline.validateInstanceMount" (list $ (printf "code location %q" $dep.name) $dep) }}
    {{- end }}
    {{- range $component := list "dagsterDaemon" "dagsterWebserver" }}
      {{- $c := index $d $component | default dict }}
      {{- include "nascar-pipeline.validateInstanceMount" (list $ (printf "dagster.%s" $component) $c) }}
      {{- $cms := list }}
      {{- range ($c.envConfigMaps | default list) }}{{ $cms = append $cms .name }}{{ end }}
      {{- if not (has $.Values.dagsterInstance.homeConfigMapName $cms) }}
        {{- fail (printf "dagster.%s.envConfigMaps must list %q (dagsterInstance.homeConfigMapName: DAGSTER_HOME)" $component $.Values.dagsterInstance.homeConfigMapName) }}
      {{- end }}
      {{- if and $c.env (kindIs "slice" $c.env) }}
        {{- range $c.env }}{{ if eq .name "DAGSTER_HOME" }}{{ fail (printf "dagster.%s.env sets DAGSTER_HOME, which would hide dagsterInstance.dagsterHome" $component) }}{{ end }}{{ end }}
      {{- end }}
      {{- $img := $c.image | default dict }}
      {{- if or (ne (toString $img.repository) $.Values.image.repository) (ne (toString $img.tag) (include "nascar-pipeline.imageTag" $)) }}
        {{- fail (printf "dagster.%s.image %s:%s differs from image %s: it must hold the storage plugin" $component (toString $img.repository) (toString $img.tag) (include "nascar-pipeline.image" $)) }}
      {{- end }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
A Dagster pod's values ((list $ "what" values)) mount dagsterInstance.configMapName at
<dagsterInstance.dagsterHome>/dagster.yaml.
*/}}
{{- define "nascar-pipeline.validateInstanceMount" -}}
{{- $root := index . 0 }}
{{- $what := index . 1 }}
{{- $v := index . 2 }}
{{- $i := $root.Values.dagsterInstance }}
{{- $volume := "" }}
{{- range ($v.volumes | default list) }}
  {{- if eq (toString ((.configMap | default dict).name)) $i.configMapName }}{{ $volume = .name }}{{ end }}
{{- end }}
{{- $mounted := false }}
{{- range ($v.volumeMounts | default list) }}
  {{- if and $volume (eq .name $volume) (eq .mountPath (printf "%s/dagster.yaml" $i.dagsterHome)) (eq (toString .subPath) "dagster.yaml") }}{{ $mounted = true }}{{ end }}
{{- end }}
{{- if not $mounted }}
  {{- fail (printf "%s must mount ConfigMap %q at %s/dagster.yaml (subPath dagster.yaml): dagsterInstance" $what $i.configMapName $i.dagsterHome) }}
{{- end }}
{{- end }}
