{{/* What every service is in the cluster: a Deployment, its Service (gRPC and metrics), a
     PodDisruptionBudget and, when enabled, a HorizontalPodAutoscaler. Called from the service's
     template (sequence.yaml, ...) with (dict "root" $ "component" NAME) and these optional keys,
     which the gateway's sets (_gateway.tpl):
       extraEnv     env entries (YAML list text) after the common ones
       extraPorts   container ports (YAML list text)
       extraGrace   seconds its own shutdown step adds before the gRPC drain
       hpaBehavior  the autoscaler's behavior (YAML map text) */}}
{{- define "im.workload" -}}
{{- $root := .root }}
{{- $values := index $root.Values .component }}
{{- $fullname := include "im.component.fullname" . }}
{{- $probes := mergeOverwrite (deepCopy $root.Values.probes) $values.probes }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels: {{- include "im.labels.standard" . | nindent 4 }}
spec:
  {{- if not $values.autoscaling.enabled }}
  replicas: {{ $values.replicaCount }}
  {{- end }}
  selector:
    matchLabels: {{- include "im.labels.matchLabels" . | nindent 6 }}
  template:
    metadata:
      labels: {{- include "im.labels.standard" . | nindent 8 }}
      annotations:
        # Pods read the ConfigMap and Secret only at start; a change must roll them.
        checksum/config: {{ include (print $root.Template.BasePath "/config.yaml") $root | sha256sum }}
    spec:
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets: {{- toYaml . | nindent 8 }}
      {{- end }}
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      # preStop, then the service's own shutdown step, then the gRPC drain, plus 5s to exit.
      terminationGracePeriodSeconds: {{ add $root.Values.drain.preStopSeconds (default 0 (get . "extraGrace")) $root.Values.drain.timeoutSeconds 5 }}
      {{- with include "im.affinity" . | trim }}
      affinity: {{- . | nindent 8 }}
      {{- end }}
      {{- with $values.nodeSelector }}
      nodeSelector: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $values.tolerations }}
      tolerations: {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "im.image" . }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          envFrom:
            - configMapRef:
                name: {{ include "im.fullname" $root }}-config
          env:
            - name: IM_GRPC_PORT
              value: {{ $values.grpcPort | quote }}
            - name: IM_METRICS_PORT
              value: {{ $values.metricsPort | quote }}
            # The migration hook applied the schema; services need no DDL rights.
            - name: IM_AUTO_MIGRATE
              value: "false"
            {{- include "im.env.postgres" (dict "root" $root "secretName" (include "im.postgres.secretName" $root)) | nindent 12 }}
            {{- with get . "extraEnv" }}{{ . | nindent 12 }}{{ end }}
            {{- with include "im.env.flags" . | trim }}{{ . | nindent 12 }}{{ end }}
          ports:
            - name: grpc
              containerPort: {{ $values.grpcPort }}
            - name: metrics
              containerPort: {{ $values.metricsPort }}
            {{- with get . "extraPorts" }}{{ . | nindent 12 }}{{ end }}
          readinessProbe: {{- include "im.probe" (dict "port" $values.grpcPort "timings" $probes.readiness) | nindent 12 }}
          livenessProbe: {{- include "im.probe" (dict "port" $values.grpcPort "timings" $probes.liveness) | nindent 12 }}
          lifecycle:
            preStop:
              exec:
                command: ["sleep", {{ $root.Values.drain.preStopSeconds | quote }}]
          resources: {{- toYaml $values.resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels: {{- include "im.labels.standard" . | nindent 4 }}
spec:
  type: ClusterIP
  selector: {{- include "im.labels.matchLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $values.grpcPort }}
      targetPort: grpc
      appProtocol: grpc
    - name: metrics
      port: {{ $values.metricsPort }}
      targetPort: metrics
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels: {{- include "im.labels.standard" . | nindent 4 }}
spec:
  maxUnavailable: {{ $values.pdb.maxUnavailable }}
  selector:
    matchLabels: {{- include "im.labels.matchLabels" . | nindent 6 }}
{{- if $values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullname }}
  namespace: {{ $root.Release.Namespace }}
  labels: {{- include "im.labels.standard" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicas: {{ $values.autoscaling.minReplicas }}
  maxReplicas: {{ $values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $values.autoscaling.targetCPUUtilizationPercentage }}
  {{- with get . "hpaBehavior" }}
  behavior: {{- . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
