{{/* The EPP's objects: "<release>-epp" (upstream's rule: default "default-pool", lower-cased, 40 characters). */}}
{{- define "inferencepool.eppName" -}}
{{- printf "%s-epp" (.Release.Name | default "default-pool" | lower | trim | trunc 40) -}}
{{- end -}}

{{/* Cluster-scoped names carry the namespace too (one release per namespace may share a name). */}}
{{- define "inferencepool.clusterName" -}}
{{- printf "%s-%s-epp" (.Release.Name | trunc 40) (.Release.Namespace | trunc 40) | trunc 84 | trimSuffix "-" -}}
{{- end -}}

{{- define "inferencepool.labels" -}}
app.kubernetes.io/name: {{ include "inferencepool.eppName" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "inferencepool.selectorLabels" -}}
inferencepool: {{ include "inferencepool.eppName" . }}
{{- end -}}

{{- define "inferencepool.image" -}}
{{- $i := .Values.inferenceExtension.image -}}
{{- $repo := $i.repository | default "infergate/infergate" -}}
{{- $tag := $i.tag | default .Chart.AppVersion -}}
{{- if $i.registry -}}{{ printf "%s/%s:%s" $i.registry $repo $tag }}{{- else -}}{{ printf "%s:%s" $repo $tag }}{{- end -}}
{{- end -}}

{{/* An upstream flag's value, or the default (flags is a map since upstream v1.2.0). */}}
{{- define "inferencepool.flag" -}}
{{- $flags := .root.Values.inferenceExtension.flags | default dict -}}
{{- if hasKey $flags .name -}}{{ get $flags .name | toString }}{{- else -}}{{ .default }}{{- end -}}
{{- end -}}

{{- define "inferencepool.grpcPort" -}}{{ include "inferencepool.flag" (dict "root" . "name" "grpc-port" "default" "9002") }}{{- end -}}
{{- define "inferencepool.healthPort" -}}{{ include "inferencepool.flag" (dict "root" . "name" "grpc-health-port" "default" "9003") }}{{- end -}}
{{- define "inferencepool.metricsPort" -}}{{ include "inferencepool.flag" (dict "root" . "name" "metrics-port" "default" "9090") }}{{- end -}}

{{/* The upstream EPP serves TLS (self-signed) unless secure-serving is false; so does this chart's. */}}
{{- define "inferencepool.secure" -}}
{{- if eq (include "inferencepool.flag" (dict "root" . "name" "secure-serving" "default" "true")) "false" -}}false{{- else -}}true{{- end -}}
{{- end -}}

{{- define "inferencepool.leaderElection" -}}
{{- if or (gt (int .Values.inferenceExtension.replicas) 1) (eq (include "inferencepool.flag" (dict "root" . "name" "ha-enable-leader-election" "default" "false")) "true") -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{/* The Lease the EPP holds with leader election on (upstream's name). */}}
{{- define "inferencepool.leaseName" -}}
{{- printf "epp-%s-%s.gateway-api-inference-extension.sigs.k8s.io" .Release.Namespace .Release.Name -}}
{{- end -}}

{{- define "inferencepool.defaultEngine" -}}
{{- .Values.inferencePool.modelServerType | default "vllm" -}}
{{- end -}}

{{/* trtllm-serve publishes its metrics on /prometheus/metrics (upstream passes --model-server-metrics-path). */}}
{{- define "inferencepool.metricsPath" -}}
{{- $path := .Values.inferenceExtension.metricsDataSource.path | default "/metrics" -}}
{{- if and (eq (include "inferencepool.defaultEngine" .) "trtllm-serve") (eq $path "/metrics") -}}/prometheus/metrics{{- else -}}{{ $path }}{{- end -}}
{{- end -}}

{{/* The default EndpointPickerConfig: upstream's (queue 2, kv-cache 2, prefix 3, metrics data source). */}}
{{- define "inferencepool.defaultPlugins" -}}
{{- $mds := .Values.inferenceExtension.metricsDataSource -}}
apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
- type: metrics-data-source
  parameters:
    scheme: {{ $mds.scheme | default "http" | quote }}
    path: {{ include "inferencepool.metricsPath" . | quote }}
    insecureSkipVerify: {{ ne (toString $mds.insecureSkipVerify) "false" }}
- type: core-metrics-extractor
{{- if ne (include "inferencepool.defaultEngine" .) "vllm" }}
  parameters:
    defaultEngine: {{ include "inferencepool.defaultEngine" . | quote }}
{{- end }}
{{- with .Values.inferencePool.parser }}
- type: {{ . }}
{{- end }}
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix-cache-scorer
    weight: 3
dataLayer:
  sources:
  - pluginRef: metrics-data-source
    extractors:
    - pluginRef: core-metrics-extractor
{{- with .Values.inferencePool.parser }}
parser:
  pluginRef: {{ . }}
{{- end }}
{{- end -}}
