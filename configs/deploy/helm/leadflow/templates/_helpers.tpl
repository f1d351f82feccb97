{{/* Name of the chart's objects: the release name, plus "-leadflow" unless it already says so. */}}
{{- define "leadflow.fullname" -}}
{{- if contains "leadflow" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-leadflow" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "leadflow.labels" -}}
app.kubernetes.io/name: leadflow
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one stage; call with (dict "root" $ "stage" "enrich"). */}}
{{- define "leadflow.selectorLabels" -}}
app.kubernetes.io/name: leadflow
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .stage }}
{{- end -}}

{{- define "leadflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "leadflow.secretName" -}}
{{- default (printf "%s-secrets" (include "leadflow.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The stages that consume Kafka, with the input topic (after the prefix) that KEDA measures lag on. */}}
{{- define "leadflow.inputTopics" -}}
enrich: sessions.raw
leads: hits
evaluate: leads.changes
deliver: deliveries
{{- end -}}

{{/* The stages that read the data set (/data). */}}
{{- define "leadflow.dataStages" -}}
[enrich, leads, evaluate]
{{- end -}}

{{/* The config file: the values' config, with the keys the chart owns. */}}
{{- define "leadflow.config" -}}
{{- $owned := dict "http" (dict "addr" (printf ":%v" .Values.service.port)) "data" (dict "dir" "/data") -}}
{{- $cfg := mustMergeOverwrite (deepCopy .Values.config) $owned -}}
{{- if not $cfg.kafka.brokers -}}
{{- fail "config.kafka.brokers is required: your Kafka brokers, host:port" -}}
{{- end -}}
{{- if and (not $cfg.redis.addr) (not $cfg.redis.cluster_addrs) -}}
{{- fail "config.redis.addr (or config.redis.cluster_addrs) is required" -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
