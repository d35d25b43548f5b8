{{/* Values this chart cannot honour fail the render with the reason, instead of deploying something else. */}}
{{- define "inferencepool.validate" -}}
{{- if not (and .Values.inferencePool.modelServers .Values.inferencePool.modelServers.matchLabels) -}}
{{- fail ".Values.inferencePool.modelServers.matchLabels is required" -}}
{{- end -}}
{{- if not (has .Values.provider.name (list "none" "kgateway" "istio" "gke")) -}}
{{- fail (printf "provider.name %q: must be one of none, kgateway, istio, gke" .Values.provider.name) -}}
{{- end -}}
{{- if not (has (include "inferencepool.defaultEngine" .) (list "vllm" "sglang" "triton-tensorrt-llm" "trtllm-serve")) -}}
{{- fail (printf "inferencePool.modelServerType %q: must be one of vllm, sglang, triton-tensorrt-llm, trtllm-serve" .Values.inferencePool.modelServerType) -}}
{{- end -}}
{{- if eq (.Values.inferencePool.modelServerProtocol | default "http") "grpc" -}}
{{- fail "inferencePool.modelServerProtocol grpc: infergate's EPP has no vllmgrpc-parser; use http" -}}
{{- end -}}
{{- if not (has (.Values.inferencePool.parser | default "") (list "" "openai-parser")) -}}
{{- fail (printf "inferencePool.parser %q: infergate's EPP has openai-parser only" .Values.inferencePool.parser) -}}
{{- end -}}
{{- if .Values.inferenceExtension.latencyPredictor.enabled -}}
{{- fail "inferenceExtension.latencyPredictor.enabled: infergate's EPP has no latency predictor" -}}
{{- end -}}
{{- if not (has .Values.inferenceExtension.failureMode (list "FailOpen" "FailClose")) -}}
{{- fail (printf "inferenceExtension.failureMode %q: must be FailOpen or FailClose" .Values.inferenceExtension.failureMode) -}}
{{- end -}}
{{- end -}}
