{{- define "haul.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "haul.labels" -}}
app.kubernetes.io/name: haul
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "haul.selector" -}}
app.kubernetes.io/name: haul
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "haul.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "haul.controllerSA" -}}{{ include "haul.fullname" . }}-controller{{- end -}}
{{- define "haul.serverSA" -}}{{ include "haul.fullname" . }}-server{{- end -}}
{{- define "haul.accessRole" -}}{{ include "haul.fullname" . }}-project-access{{- end -}}
