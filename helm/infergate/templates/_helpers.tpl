{{/* The name of every object: the release name, or "<release>-infergate" when it does not contain the chart's. */}}
{{- define "infergate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "infergate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "infergate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "infergate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "infergate.labels" -}}
{{ include "infergate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: control-plane
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "infergate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "infergate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "infergate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "infergate.fleetConfigMap" -}}
{{- printf "%s-envoy-fleet" (include "infergate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "infergate.envoyXdsAddress" -}}
{{- default (printf "%s.%s.svc.cluster.local:%v" (include "infergate.fullname" .) .Release.Namespace .Values.ports.xds) .Values.envoyXdsAddress -}}
{{- end -}}

{{/* The rules on namespaced kinds: in a ClusterRole when every namespace is watched, else in a Role there. */}}
{{- define "infergate.namespacedRules" -}}
# What the compiler reads.
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways, httproutes, referencegrants]
  verbs: [get, list, watch]
- apiGroups: [inference.networking.k8s.io]
  resources: [inferencepools]
  verbs: [get, list, watch]
- apiGroups: [inference.networking.x-k8s.io]
  resources: [inferencepools, inferenceobjectives, inferencemodelrewrites, inferencemodels]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [services, pods, secrets, configmaps]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, list, watch]
# Status write-back.
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways/status, httproutes/status]
  verbs: [get, patch, update]
- apiGroups: [inference.networking.k8s.io]
  resources: [inferencepools/status]
  verbs: [get, patch, update]
- apiGroups: [inference.networking.x-k8s.io]
  resources: [inferencepools/status, inferenceobjectives/status, inferencemodelrewrites/status]
  verbs: [get, patch, update]
{{- if not .Values.disableEnvoyProvisioning }}
# Managed Envoy fleets: per Gateway a ConfigMap, a Deployment and a Service, owned by the Gateway.
- apiGroups: [""]
  resources: [configmaps, services]
  verbs: [create, patch, update, delete]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways/finalizers]
  verbs: [update]
{{- end }}
{{- end -}}
