{{/* The release's name for every object. */}}
{{- define "handheld.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the server's pods. */}}
{{- define "handheld.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "handheld.labels" -}}
{{ include "handheld.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "handheld.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* HANDHELD_REPLICAS: how many replicas share the limits while Redis is
down; with autoscaling, the fewest there will be. */}}
{{- define "handheld.replicas" -}}
{{- if .Values.autoscaling.enabled -}}{{ .Values.autoscaling.minReplicas }}{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/* The pod's security context: never root. */}}
{{- define "handheld.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "handheld.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* The non-secret settings: the values' config and what the chart sets. */}}
{{- define "handheld.settings" -}}
{{- range $name, $value := .Values.config }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
HANDHELD_ADDR: "0.0.0.0:8080"
HANDHELD_KEYS_DIR: /keys
HANDHELD_SHUTDOWN_TIMEOUT: {{ printf "%ds" (int .Values.shutdown.drainSeconds) | quote }}
HANDHELD_REPLICAS: {{ include "handheld.replicas" . | quote }}
{{- end -}}

{{/* Each secret by reference. */}}
{{- define "handheld.secretEnv" -}}
{{- range .Values.secretEnv.keys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secretEnv.existingSecret }}
      key: {{ . }}
{{- end }}
{{- end -}}

{{/* The server's environment: the ConfigMap, then the secrets. */}}
{{- define "handheld.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "handheld.fullname" . }}
env:
  {{- include "handheld.secretEnv" . | nindent 2 }}
{{- end -}}

{{/* The init container that copies the key Secrets into memory as files
only the server's user may read (the binary refuses group-readable private
keys, and a Secret volume is group-readable or root's). */}}
{{- define "handheld.keysInit" -}}
- name: keys
  image: {{ .Values.keys.copyImage.repository }}:{{ .Values.keys.copyImage.tag }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command:
    - sh
    - -ec
    - |
      for purpose in {{ keys .Values.keys.existingSecrets | sortAlpha | join " " }}; do
        mkdir -p /keys/$purpose
        cp -L /secrets/$purpose/* /keys/$purpose/
      done
      chmod -R go-rwx /keys
  securityContext:
    {{- include "handheld.containerSecurityContext" . | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 16Mi}
    limits: {memory: 32Mi}
  volumeMounts:
    - name: keys
      mountPath: /keys
{{- range $purpose, $secret := .Values.keys.existingSecrets }}
    - name: keys-{{ $purpose }}
      mountPath: /secrets/{{ $purpose }}
      readOnly: true
{{- end }}
{{- end -}}

{{/* The volumes every pod has: the keys in memory, their Secrets and /tmp. */}}
{{- define "handheld.volumes" -}}
- name: keys
  emptyDir:
    medium: Memory
    sizeLimit: 1Mi
{{- range $purpose, $secret := .Values.keys.existingSecrets }}
- name: keys-{{ $purpose }}
  secret:
    secretName: {{ $secret }}
    defaultMode: 0440
{{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "handheld.volumeMounts" -}}
- name: keys
  mountPath: /keys
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}
