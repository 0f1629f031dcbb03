{{/*
The dagster.yaml of this release's Dagster instance (templates/configmap-dagster-instance.yaml),
from the dagster.* values that the official chart reads for its own, with the resilient storage.
*/}}
{{- define "nascar-pipeline.dagsterInstance.yaml" -}}
{{- $d := .Values.dagster }}
{{- $i := .Values.dagsterInstance }}
{{- $pg := $d.postgresql }}
{{- $postgresDb := dict
      "username" $pg.postgresqlUsername
      "password" (dict "env" "DAGSTER_PG_PASSWORD")
      "hostname" $pg.postgresqlHost
      "db_name" $pg.postgresqlDatabase
      "port" (int (($pg.service | default dict).port | default 5432))
      "params" ($pg.postgresqlParams | default dict) }}
{{- with $pg.postgresqlScheme }}{{ $_ := set $postgresDb "scheme" . }}{{ end }}
{{- $instance := dict }}
{{- $_ := set $instance "storage" (dict "custom" (dict
      "module" "nascar_pipeline.instance.postgres"
      "class" "ResilientPostgresStorage"
      "config" (dict "postgres_db" $postgresDb "outage_retry_seconds" (int $i.outageRetrySeconds)))) }}
{{- $_ := set $instance "scheduler" (dict "module" "dagster._core.scheduler" "class" "DagsterDaemonScheduler") }}
{{- $_ := set $instance "run_launcher" (include "nascar-pipeline.dagsterInstance.runLauncher" . | fromYaml) }}
{{- $daemon := $d.dagsterDaemon }}
{{- $qrc := $daemon.runCoordinator.config.queuedRunCoordinator | default dict }}
{{- $coordinator := dict }}
{{- range $k, $v := $qrc }}{{ $_ := set $coordinator (snakecase $k) $v }}{{ end }}
{{- range $k, $v := ($i.runCoordinator | default dict) }}{{ $_ := set $coordinator (snakecase $k) $v }}{{ end }}
{{- $_ := set $instance "run_coordinator" (dict "module" "dagster._core.run_coordinator" "class" "QueuedRunCoordinator" "config" $coordinator) }}
{{- if $d.concurrency.enabled }}
{{- $pools := dict }}
{{- range $k, $v := ($d.concurrency.pools | default dict) }}{{ $_ := set $pools (snakecase $k) $v }}{{ end }}
{{- $runs := dict }}
{{- range $k, $v := ($d.concurrency.runs | default dict) }}{{ $_ := set $runs (snakecase $k) $v }}{{ end }}
{{- $_ := set $instance "concurrency" (dict "pools" $pools "runs" $runs) }}
{{- end }}
{{- range $section, $key := dict "runMonitoring" "run_monitoring" "runRetries" "run_retries" "sensors" "sensors" "schedules" "schedules" }}
{{- $values := index $daemon $section | default dict }}
{{- $out := dict }}
{{- range $k, $v := $values }}{{ $_ := set $out (snakecase $k) $v }}{{ end }}
{{- if $out }}{{ $_ := set $instance $key $out }}{{ end }}
{{- end }}
{{- if $d.retention.enabled }}
{{- $retention := dict }}
{{- range $k, $v := (omit $d.retention "enabled") }}{{ $_ := set $retention (snakecase $k) (dict "purge_after_days" $v.purgeAfterDays) }}{{ end }}
{{- $_ := set $instance "retention" $retention }}
{{- end }}
{{- $_ := set $instance "telemetry" (dict "enabled" (($d.telemetry | default dict).enabled | default false)) }}
{{- toYaml $instance }}
{{- end }}

{{/*
The K8sRunLauncher block, from dagster.runLauncher.config.k8sRunLauncher (the keys dagster-k8s
takes, snake_cased), with the instance and DAGSTER_HOME of this chart's ConfigMap.
*/}}
{{- define "nascar-pipeline.dagsterInstance.runLauncher" -}}
{{- $d := .Values.dagster }}
{{- $i := .Values.dagsterInstance }}
{{- $k := $d.runLauncher.config.k8sRunLauncher | default dict }}
{{- $dagsterFullname := include "nascar-pipeline.dagster.fullname" . }}
{{- $sa := (($d.global | default dict).serviceAccountName) | default (($d.serviceAccount | default dict).name) | default $dagsterFullname }}
{{- $envConfigMaps := list (printf "%s-pipeline-env" $dagsterFullname) }}
{{- range ($k.envConfigMaps | default list) }}{{ $envConfigMaps = append $envConfigMaps .name }}{{ end }}
{{- $envSecrets := list }}
{{- range ($k.envSecrets | default list) }}{{ $envSecrets = append $envSecrets .name }}{{ end }}
{{- $config := dict
      "load_incluster_config" (ternary $k.loadInclusterConfig true (hasKey $k "loadInclusterConfig"))
      "job_namespace" ($k.jobNamespace | default .Release.Namespace)
      "service_account_name" $sa
      "dagster_home" $i.dagsterHome
      "instance_config_map" $i.configMapName
      "postgres_password_secret" .Values.secrets.postgresql
      "env_config_maps" $envConfigMaps
      "env_secrets" $envSecrets }}
{{- range $from, $to := dict
      "imagePullPolicy" "image_pull_policy"
      "kubeconfigFile" "kubeconfig_file"
      "envVars" "env_vars"
      "volumeMounts" "volume_mounts"
      "volumes" "volumes"
      "labels" "labels"
      "resources" "resources"
      "schedulerName" "scheduler_name"
      "securityContext" "security_context"
      "failPodOnRunFailure" "fail_pod_on_run_failure" }}
{{- $v := index $k $from }}
{{- if not (kindIs "invalid" $v) }}{{ $_ := set $config $to $v }}{{ end }}
{{- end }}
{{- with $k.image }}{{ $_ := set $config "job_image" (printf "%s:%s" .repository (toString .tag)) }}{{ end }}
{{- $jc := .Values.jaxCache | default dict }}
{{- if $jc.enabled }}
{{- /* JAX's compilation cache volume on every run pod, and NASCAR_JAX_CACHE pointing at it. */}}
{{- $_ := set $config "volumes" (append ($config.volumes | default list) (include "nascar-pipeline.jaxCache.volume" . | fromYaml)) }}
{{- $_ := set $config "volume_mounts" (append ($config.volume_mounts | default list) (dict "name" "jax-cache" "mountPath" $jc.mountPath)) }}
{{- $_ := set $config "env_vars" (append ($config.env_vars | default list) (printf "NASCAR_JAX_CACHE=%s" $jc.mountPath)) }}
{{- end }}
{{- with $k.runK8sConfig }}
{{- $runK8s := dict }}
{{- range $key, $v := . }}{{ $_ := set $runK8s (snakecase $key) $v }}{{ end }}
{{- $_ := set $config "run_k8s_config" $runK8s }}
{{- end }}
{{- toYaml (dict "module" "dagster_k8s" "class" "K8sRunLauncher" "config" $config) }}
{{- end }}

{{/*
The run pods' volume for JAX's persistent compilation cache (jaxCache.volume): the shared claim,
a folder of the node, or the pod's own empty folder.
*/}}
{{- define "nascar-pipeline.jaxCache.volume" -}}
{{- $jc := .Values.jaxCache }}
{{- if eq $jc.volume "pvc" }}
name: jax-cache
persistentVolumeClaim:
  claimName: {{ include "nascar-pipeline.jaxCache.claimName" . }}
{{- else if eq $jc.volume "hostPath" }}
name: jax-cache
hostPath:
  path: {{ $jc.hostPath.path }}
  type: DirectoryOrCreate
{{- else }}
name: jax-cache
emptyDir: {}
{{- end }}
{{- end }}

{{- define "nascar-pipeline.jaxCache.claimName" -}}
{{- .Values.jaxCache.pvc.existingClaim | default (printf "%s-jax-cache" (include "nascar-pipeline.fullname" .)) }}
{{- end }}
