{{/* Chart name, or nameOverride. */}}
{{- define "kse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name, or fullnameOverride. */}}
{{- define "kse.fullname" -}}
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

{{/* chart label value */}}
{{- define "kse.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "kse.labels" -}}
helm.sh/chart: {{ include "kse.chart" . }}
{{ include "kse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kafka-security-exporter
{{- end }}

{{/* Labels that select every exporter pod of the release (the Service's selector). */}}
{{- define "kse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* ServiceAccount name. */}}
{{- define "kse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image reference: repository@digest, or repository:tag (default appVersion). */}}
{{- define "kse.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the Secret with Kafka credentials, empty when there is none. */}}
{{- define "kse.secretName" -}}
{{- if .Values.kafkaAuth.existingSecret }}
{{- .Values.kafkaAuth.existingSecret }}
{{- else if or .Values.kafkaAuth.password .Values.kafkaAuth.tls.enabled }}
{{- include "kse.fullname" . }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the pseudonym key (privacy.enabled), empty when privacy is off. */}}
{{- define "kse.privacySecretName" -}}
{{- if .Values.privacy.enabled }}
{{- .Values.privacy.existingSecret | default (printf "%s-privacy" (include "kse.fullname" .)) }}
{{- end }}
{{- end }}

{{/* Name of the Secret with the output cluster's password, empty when there is none. */}}
{{- define "kse.outputSecretName" -}}
{{- $o := .Values.output }}
{{- if and $o.enabled $o.auth.existingSecret }}
{{- $o.auth.existingSecret }}
{{- else if and $o.enabled $o.auth.password }}
{{- printf "%s-output" (include "kse.fullname" .) }}
{{- end }}
{{- end }}

{{/* Where the pseudonym key's Secret is mounted. */}}
{{- define "kse.privacyDir" -}}
/etc/kafka-security-exporter/privacy
{{- end }}

{{/*
An exporter config (config.yaml): the workload's `config` with the `privacy:` and `output:`
sections of the chart's values added. Arguments: dict "root" $ "config" dict "at" "consumer.config"
*/}}
{{- define "kse.config" -}}
{{- $v := .root.Values -}}
{{- $c := deepCopy (.config | default dict) -}}
{{- if $v.privacy.enabled -}}
{{- if hasKey $c "privacy" -}}
{{- fail (printf "%s sets privacy: while privacy.enabled renders it; set it in one place" .at) -}}
{{- end -}}
{{- if not $v.privacy.keyId -}}
{{- fail "privacy.enabled needs privacy.keyId (1 to 8 of a-z and 0-9)" -}}
{{- end -}}
{{- if not (or $v.privacy.existingSecret $v.privacy.key) -}}
{{- fail "privacy.enabled needs the key: privacy.existingSecret (a Secret you manage) or privacy.key" -}}
{{- end -}}
{{- $switches := dict "principals" $v.privacy.principals "addresses" $v.privacy.addresses -}}
{{- $keyFile := printf "%s/%s" (include "kse.privacyDir" .root) $v.privacy.secretKey -}}
{{- $_ := set $c "privacy" (dict "pseudonymize" $switches "key_file" $keyFile "key_id" $v.privacy.keyId) -}}
{{- end -}}
{{- if $v.output.enabled -}}
{{- $o := $v.output -}}
{{- if hasKey $c "output" -}}
{{- fail (printf "%s sets output: while output.enabled renders it; set it in one place" .at) -}}
{{- end -}}
{{- $props := deepCopy ($o.properties | default dict) -}}
{{- if not (index $props "bootstrap.servers") -}}
{{- fail "output.enabled needs output.properties.bootstrap.servers" -}}
{{- end -}}
{{- if include "kse.outputSecretName" .root -}}
{{- if hasKey $props "sasl.password" -}}
{{- fail "output.properties sets sasl.password while output.auth gives the password; set it in one place" -}}
{{- end -}}
{{- $_ := set $props "sasl.password" (dict "env" "KAFKA_OUTPUT_PASSWORD") -}}
{{- end -}}
{{- $kafka := dict "topic" $o.topic "schema" $o.schema "detections" $o.detections "queue_max_events" ($o.queueMaxEvents | int64) "raw_data_max_bytes" ($o.rawDataMaxBytes | int64) "properties" $props -}}
{{- $_ := set $c "output" (dict "kafka" $kafka) -}}
{{- end -}}
{{- toYaml $c -}}
{{- end }}

{{/* The job label of the exporter's targets in Prometheus. */}}
{{- define "kse.exporterJob" -}}
{{- default (include "kse.name" .) .Values.prometheusRule.exporterJob }}
{{- end }}

{{/*
Pod spec shared by the Deployment and the DaemonSet.
Arguments: dict "root" $ "component" "consumer"|"log-tail" "extraVolumes" list "extraMounts" list "podSecurityContext" dict
*/}}
{{/*
The Secret holding the web config file: webConfig.existingSecret, else the one the chart renders.
*/}}
{{- define "kse.webConfigSecret" -}}
{{- .Values.webConfig.existingSecret | default (printf "%s-web-config" (include "kse.fullname" .)) -}}
{{- end }}

{{/*
A probe from values, adapted to the web config: HTTPS when it turns TLS on; a TCP check when it
requires client certificates (kubelet has none).
*/}}
{{- define "kse.probe" -}}
{{- $p := deepCopy .probe -}}
{{- $w := .webConfig -}}
{{- if and $w.enabled (hasKey $p "httpGet") -}}
{{- if $w.requireClientCert -}}
{{- $port := $p.httpGet.port -}}
{{- $_ := unset $p "httpGet" -}}
{{- $_ := set $p "tcpSocket" (dict "port" $port) -}}
{{- else if $w.tls -}}
{{- $_ := set $p.httpGet "scheme" "HTTPS" -}}
{{- end -}}
{{- end -}}
{{- toYaml $p -}}
{{- end }}

{{- define "kse.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $secret := include "kse.secretName" $root -}}
serviceAccountName: {{ include "kse.serviceAccountName" $root }}
automountServiceAccountToken: {{ $v.serviceAccount.automountServiceAccountToken }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml .podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
{{- with .initContainers }}
initContainers:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: exporter
    image: {{ include "kse.image" $root | quote }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args:
      - run
      - --config=/etc/kafka-security-exporter/config.yaml
      - --web.listen-address=:{{ $v.service.port }}
      - --log.level={{ $v.logLevel }}
      - --log.format={{ $v.logFormat }}
      {{- if $v.webConfig.enabled }}
      - --web.config.file=/etc/kafka-security-exporter/web/{{ $v.webConfig.fileKey }}
      {{- end }}
    ports:
      - name: http-metrics
        containerPort: {{ $v.service.port }}
        protocol: TCP
    {{- $outputSecret := include "kse.outputSecretName" $root }}
    {{- $privacySecret := include "kse.privacySecretName" $root }}
    {{- if or $secret $outputSecret $v.extraEnv }}
    env:
      {{- if $secret }}
      - name: KAFKA_PASSWORD
        valueFrom:
          secretKeyRef:
            name: {{ $secret }}
            key: {{ $v.kafkaAuth.passwordKey }}
            optional: true
      {{- end }}
      {{- if $outputSecret }}
      - name: KAFKA_OUTPUT_PASSWORD
        valueFrom:
          secretKeyRef:
            name: {{ $outputSecret }}
            key: {{ $v.output.auth.passwordKey }}
      {{- end }}
      {{- with $v.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    {{- end }}
    {{- with $v.extraEnvFrom }}
    envFrom:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    livenessProbe:
      {{- include "kse.probe" (dict "probe" $v.livenessProbe "webConfig" $v.webConfig) | nindent 6 }}
    readinessProbe:
      {{- include "kse.probe" (dict "probe" $v.readinessProbe "webConfig" $v.webConfig) | nindent 6 }}
    resources:
      {{- toYaml $v.resources | nindent 6 }}
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    volumeMounts:
      - name: config
        mountPath: /etc/kafka-security-exporter/config.yaml
        subPath: config.yaml
        readOnly: true
      - name: tmp
        mountPath: /tmp
      {{- if and $secret $v.kafkaAuth.tls.enabled }}
      - name: kafka-tls
        mountPath: /etc/kafka-security-exporter/tls
        readOnly: true
      {{- end }}
      {{- if $privacySecret }}
      - name: privacy-key
        mountPath: {{ include "kse.privacyDir" $root }}
        readOnly: true
      {{- end }}
      {{- if $v.webConfig.enabled }}
      # The whole directory, not a subPath: Secret updates reach the pod and the exporter reloads.
      - name: web-config
        mountPath: /etc/kafka-security-exporter/web
        readOnly: true
      {{- end }}
      {{- with .extraMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      {{- with $v.extraVolumeMounts }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
volumes:
  - name: config
    configMap:
      name: {{ include "kse.fullname" $root }}-{{ .component }}
  - name: tmp
    emptyDir:
      sizeLimit: 16Mi
  {{- if and $secret $v.kafkaAuth.tls.enabled }}
  - name: kafka-tls
    secret:
      secretName: {{ $secret }}
      defaultMode: 0440
      optional: false
  {{- end }}
  {{- if $privacySecret }}
  # Only the key, readable by the pod's user and group alone; read once at start.
  - name: privacy-key
    secret:
      secretName: {{ $privacySecret }}
      defaultMode: 0440
      optional: false
      items:
        - key: {{ $v.privacy.secretKey }}
          path: {{ $v.privacy.secretKey }}
  {{- end }}
  {{- if $v.webConfig.enabled }}
  - name: web-config
    secret:
      secretName: {{ include "kse.webConfigSecret" $root }}
      defaultMode: 0440
      optional: false
  {{- end }}
  {{- with .extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- with $v.extraVolumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
Substitutions applied to the rules of files/alerts/ by the PrometheusRule: per rule name, a list
of {from, to}. Every `from` must occur in that rule's expr (the template fails otherwise), so
the chart cannot silently stop applying a value when alerts/ changes. With default values every
`to` equals its `from`, which tests/it/helm_chart.rs checks by comparing the rendered rules to alerts/.
*/}}
{{- define "kse.ruleSubstitutions" -}}
{{- $t := .Values.prometheusRule.thresholds -}}
{{- $sensitive := .Values.prometheusRule.sensitiveResources | replace "\\" "\\\\" | replace "\"" "\\\"" -}}
{{- $job := include "kse.exporterJob" . | replace "\\" "\\\\" | replace "\"" "\\\"" -}}
{{- $defaultSensitive := "__consumer_offsets|__transaction_state|_confluent.*|.*audit.*|.*secret.*" -}}
KafkaSecurityBruteForce:
  - from: "{client_host!=\"unknown\"} > 20"
    to: {{ printf "{client_host!=\"unknown\"} > %v" $t.bruteForceFailures | quote }}
KafkaSecurityAuthenticationFailureSpike:
  - from: "{outcome=\"failure\"} > 1\n"
    to: {{ printf "{outcome=\"failure\"} > %v\n" $t.authFailureRate | quote }}
  - from: ") > 0.1"
    to: {{ printf ") > %v" $t.authFailureRatio | quote }}
KafkaSecuritySlowBruteForce:
  - from: "increase6h{client_host!=\"unknown\"} > 50"
    to: {{ printf "increase6h{client_host!=\"unknown\"} > %v" $t.slowBruteForce6h | quote }}
  - from: "increase24h{client_host!=\"unknown\"} > 100"
    to: {{ printf "increase24h{client_host!=\"unknown\"} > %v" $t.slowBruteForce24h | quote }}
KafkaSecurityManyFailingClientHosts:
  - from: "count10m >= 10"
    to: {{ printf "count10m >= %v" $t.failingClientHosts | quote }}
KafkaSecurityPrincipalDenied:
  - from: "increase10m > 50"
    to: {{ printf "increase10m > %v" $t.principalDenials | quote }}
KafkaSecurityPrivilegeProbing:
  - from: "count10m >= 10"
    to: {{ printf "count10m >= %v" $t.probedResources | quote }}
KafkaSecuritySensitiveResourceDenied:
  - from: {{ printf "resource_name=~\"%s\"" $defaultSensitive | quote }}
    to: {{ printf "resource_name=~\"%s\"" $sensitive | quote }}
KafkaSecurityConsumerLagGrowing:
  - from: "(kafka_security_consumer_lag_messages) > 10000"
    to: {{ printf "(kafka_security_consumer_lag_messages) > %v" $t.consumerLag | quote }}
KafkaSecurityParseErrors:
  - from: "> 0.01"
    to: {{ printf "> %v" $t.parseErrorRatio | quote }}
KafkaSecurityExporterDown:
  - from: "job=\"kafka-security-exporter\""
    to: {{ printf "job=\"%s\"" $job | quote }}
KafkaSecurityExporterAbsent:
  - from: "job=\"kafka-security-exporter\""
    to: {{ printf "job=\"%s\"" $job | quote }}
{{- end }}
