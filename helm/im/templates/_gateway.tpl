{{/* What the gateway's workload has beyond every service's, handed to "im.workload" by
     gateway.yaml; its WebSocket Service and Ingress are gateway-ws-service.yaml and
     gateway-ingress.yaml. */}}
{{- define "im.gateway.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
# Stored in presence: the message service pushes a user's messages to exactly this pod.
- name: IM_ADVERTISE_ADDR
  value: {{ printf "$(POD_IP):%d" (int .Values.gateway.grpcPort) | quote }}
- name: IM_WS_PORT
  value: {{ .Values.gateway.wsPort | quote }}
- name: IM_CLOSE_TIMEOUT
  value: {{ printf "%ds" (int .Values.gateway.closeTimeoutSeconds) | quote }}
{{- if include "im.jwt.enabled" . }}
- name: IM_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "im.jwt.secretName" . }}
      key: {{ include "im.jwt.secretKey" . }}
{{- end }}
{{- end }}

{{- define "im.gateway.ports" -}}
- name: ws
  containerPort: {{ .Values.gateway.wsPort }}
{{- end }}

{{/* Removing a gateway disconnects its clients (they reconnect elsewhere): scale in slowly. */}}
{{- define "im.gateway.hpaBehavior" -}}
scaleDown:
  stabilizationWindowSeconds: 600
  policies:
    - type: Pods
      value: 1
      periodSeconds: 120
{{- end }}
