// The Helm chart (helm/im), rendered as helm would render it with default values, with
// values-dev.yaml, and with values that exercise every option, and checked: every manifest parses,
// every Deployment has its probes, resources and run.sh's env, the hook Job runs the migrations, the
// gateway's Services and Ingress fit together, values reach the places they configure, and each
// service's objects come from the template named after it.
package deploy

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const chartDir = repoRoot + "/helm/im"

const release, namespace = "chat", "im"

// What the README's install command passes: the chart has no defaults for the stores.
func installSet() object {
	return object{
		"postgres": object{"existingSecret": "im-db-app"},
		"redis":    object{"addr": "redis-master.redis:6379"},
	}
}

// chartRender is one render with lookups over its documents.
type chartRender struct {
	t      *testing.T
	docs   []manifest
	values object
	rs     runSh
	flags  map[string]map[string]bool
}

func render(t *testing.T, opts renderOptions) *chartRender {
	t.Helper()
	docs, values, err := renderChart(chartDir, opts)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	rs := parseRunSh(t)
	return &chartRender{t: t, docs: docs, values: values, rs: rs, flags: binaryFlags(t, rs.services)}
}

// dig walks maps by key and lists by decimal index; nil when the path is absent.
func dig(v interface{}, path ...string) interface{} {
	for _, key := range path {
		switch node := v.(type) {
		case object:
			v = node[key]
		case []interface{}:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

func str(v interface{}) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func list(v interface{}) []interface{} {
	l, _ := v.([]interface{})
	return l
}

// num reads a number whatever YAML or JSON made of it.
func num(v interface{}) int {
	n, _ := strconv.Atoi(str(v))
	return n
}

// sameJSON compares a rendered value with a values entry, whose numbers are float64.
func sameJSON(a, b interface{}) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var na, nb interface{}
	_ = json.Unmarshal(ja, &na)
	_ = json.Unmarshal(jb, &nb)
	return reflect.DeepEqual(na, nb)
}

func (r *chartRender) find(kind, name string) object {
	for _, d := range r.docs {
		if d.obj["kind"] == kind && dig(d.obj, "metadata", "name") == name {
			return d.obj
		}
	}
	return nil
}

func (r *chartRender) all(kind string) []object {
	var out []object
	for _, d := range r.docs {
		if d.obj["kind"] == kind {
			out = append(out, d.obj)
		}
	}
	return out
}

func (r *chartRender) mustFind(kind, name string) object {
	r.t.Helper()
	obj := r.find(kind, name)
	if obj == nil {
		r.t.Fatalf("no %s %s rendered", kind, name)
	}
	return obj
}

func (r *chartRender) value(path ...string) interface{} { return dig(r.values, path...) }

func fullname(component string) string { return release + "-im-" + component }

// container returns the Deployment's only container.
func container(deploy object) object {
	c, _ := dig(deploy, "spec", "template", "spec", "containers", "0").(object)
	return c
}

// envOf resolves a container's environment to names and literal values, following envFrom into
// the rendered ConfigMaps; values from Secrets and the downward API are "".
func (r *chartRender) envOf(c object) map[string]string {
	env := map[string]string{}
	for _, from := range list(c["envFrom"]) {
		name := str(dig(from, "configMapRef", "name"))
		cm := r.find("ConfigMap", name)
		if cm == nil {
			r.t.Errorf("container %s: envFrom ConfigMap %s is not rendered", c["name"], name)
			continue
		}
		for k, v := range cm["data"].(object) {
			env[k] = str(v)
		}
	}
	for _, e := range list(c["env"]) {
		name := str(dig(e, "name"))
		if _, dup := env[name]; dup {
			r.t.Errorf("container %s: %s set twice", c["name"], name)
		}
		env[name] = str(dig(e, "value"))
	}
	return env
}

// checkSecretRefs checks every secretKeyRef names a key of a rendered Secret, or an existing
// Secret the values name, and returns the refs by env name.
func (r *chartRender) checkSecretRefs(where string, c object) map[string][2]string {
	refs := map[string][2]string{}
	existing := map[string]bool{
		str(r.value("postgres", "existingSecret")): true, str(r.value("jwt", "existingSecret")): true,
	}
	for _, e := range list(c["env"]) {
		ref, ok := dig(e, "valueFrom", "secretKeyRef").(object)
		if !ok {
			continue
		}
		name, key := str(ref["name"]), str(ref["key"])
		refs[str(dig(e, "name"))] = [2]string{name, key}
		if existing[name] && name != "" {
			continue
		}
		secret := r.find("Secret", name)
		if secret == nil || dig(secret, "data", key) == nil {
			r.t.Errorf("%s: env %s reads key %s of Secret %s, which is not rendered", where,
				dig(e, "name"), key, name)
		}
	}
	return refs
}

func (r *chartRender) secretValue(name, key string) string {
	r.t.Helper()
	data, err := base64.StdEncoding.DecodeString(str(dig(r.mustFind("Secret", name), "data", key)))
	if err != nil {
		r.t.Fatalf("Secret %s key %s: %v", name, key, err)
	}
	return string(data)
}

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// check runs what must hold for every render.
func (r *chartRender) check() {
	t := r.t
	t.Helper()
	seen := map[string]bool{}
	for _, d := range r.docs {
		name := str(dig(d.obj, "metadata", "name"))
		id := fmt.Sprintf("%s %s", d.obj["kind"], name)
		if d.obj["apiVersion"] == nil || d.obj["kind"] == nil || !dns1123.MatchString(name) || len(name) > 63 {
			t.Errorf("%s: bad apiVersion, kind or name in %s", d.source, id)
		}
		if ns := dig(d.obj, "metadata", "namespace"); ns != namespace {
			t.Errorf("%s: namespace %v, want the release's", id, ns)
		}
		if seen[id] {
			t.Errorf("%s rendered twice", id)
		}
		seen[id] = true
	}
	for _, svc := range r.rs.services {
		r.checkDeployment(svc)
	}
	r.checkServices()
	r.checkAddresses()
	r.checkMigrations()
	r.checkLayout()
	for _, kind := range []string{"PodDisruptionBudget"} {
		for _, obj := range r.all(kind) {
			if r.podsMatching(dig(obj, "spec", "selector", "matchLabels")) == nil {
				t.Errorf("%s %s selects no Deployment's pods", kind, dig(obj, "metadata", "name"))
			}
		}
	}
	for _, hpa := range r.all("HorizontalPodAutoscaler") {
		target := str(dig(hpa, "spec", "scaleTargetRef", "name"))
		if d := r.find("Deployment", target); d == nil || dig(d, "spec", "replicas") != nil {
			t.Errorf("HPA %s: target %s missing, or it sets replicas the HPA would fight", dig(hpa, "metadata", "name"), target)
		}
	}
}

func (r *chartRender) checkDeployment(svc string) {
	t := r.t
	t.Helper()
	vals := r.value(svc).(object)
	deploy := r.mustFind("Deployment", fullname(svc))
	where := "Deployment " + fullname(svc)
	c := container(deploy)
	pod := dig(deploy, "spec", "template", "spec").(object)

	tag := str(r.value("image", "tag"))
	if tag == "" {
		tag = "0.1.0"
	}
	image := str(r.value("image", "repository")) + "/" + svc + ":" + tag
	if reg := str(r.value("image", "registry")); reg != "" {
		image = reg + "/" + image
	}
	if c["image"] != image {
		t.Errorf("%s: image %v, want %s", where, c["image"], image)
	}

	ports := map[string]int{}
	for _, p := range list(c["ports"]) {
		ports[str(dig(p, "name"))] = num(dig(p, "containerPort"))
	}
	grpcPort := num(vals["grpcPort"])
	if ports["grpc"] != grpcPort || ports["metrics"] != num(vals["metricsPort"]) {
		t.Errorf("%s: ports %v, want grpc %d and metrics %v", where, ports, grpcPort, vals["metricsPort"])
	}

	probes := coalesce(r.value("probes").(object), vals["probes"].(object))
	for probe, timings := range map[string]string{"readinessProbe": "readiness", "livenessProbe": "liveness"} {
		p, _ := c[probe].(object)
		if num(dig(p, "grpc", "port")) != grpcPort {
			t.Errorf("%s: %s is not a gRPC health check on the gRPC port: %v", where, probe, p)
		}
		for k, v := range probes[timings].(object) {
			if !sameJSON(p[k], v) {
				t.Errorf("%s: %s.%s = %v, values say %v", where, probe, k, p[k], v)
			}
		}
	}

	resources := c["resources"]
	if !sameJSON(resources, vals["resources"]) || dig(resources, "requests", "cpu") == nil ||
		dig(resources, "requests", "memory") == nil || dig(resources, "limits", "memory") == nil {
		t.Errorf("%s: resources %v, values say %v (cpu and memory requests, memory limit needed)",
			where, resources, vals["resources"])
	}

	env := r.envOf(c)
	for _, p := range compareEnv(where, r.rs.serveEnv[svc], r.flags[svc], env) {
		t.Error(p)
	}
	refs := r.checkSecretRefs(where, c)
	if _, ok := refs["IM_POSTGRES_DSN"]; !ok {
		t.Errorf("%s: IM_POSTGRES_DSN is not read from a Secret", where)
	}
	if env["IM_GRPC_PORT"] != strconv.Itoa(grpcPort) || env["IM_METRICS_PORT"] != str(vals["metricsPort"]) ||
		env["IM_LISTEN_HOST"] != "0.0.0.0" || env["IM_AUTO_MIGRATE"] != "false" {
		t.Errorf("%s: env %v does not match its ports, listen on all addresses, or leave migrations to the hook", where, env)
	}
	for flag, v := range vals["flags"].(object) {
		want := str(v)
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			want = strconv.FormatInt(int64(f), 10)
		}
		if got := env["IM_"+strings.ToUpper(flag)]; got != want {
			t.Errorf("%s: flags.%s = %v reached the env as %q", where, flag, v, got)
		}
	}

	// Graceful stop: preStop covers endpoint removal, then the drain (the gateway's client close first).
	preStop := num(r.value("drain", "preStopSeconds"))
	if cmd := list(dig(c, "lifecycle", "preStop", "exec", "command")); len(cmd) != 2 || cmd[0] != "sleep" || num(cmd[1]) != preStop {
		t.Errorf("%s: preStop %v, want sleep %d", where, cmd, preStop)
	}
	grace := preStop + num(r.value("drain", "timeoutSeconds")) + 5
	if svc == "gateway" {
		grace += num(vals["closeTimeoutSeconds"]) + 1
	}
	if got := num(pod["terminationGracePeriodSeconds"]); got != grace {
		t.Errorf("%s: terminationGracePeriodSeconds %d, want %d", where, got, grace)
	}
	if dig(pod, "securityContext", "runAsNonRoot") != true || dig(c, "securityContext", "readOnlyRootFilesystem") != true {
		t.Errorf("%s: not non-root with a read-only root filesystem", where)
	}
	if dig(deploy, "spec", "template", "metadata", "annotations", "checksum/config") == nil {
		t.Errorf("%s: no config checksum, a config change would not roll the pods", where)
	}

	replicas := dig(deploy, "spec", "replicas")
	if dig(vals, "autoscaling", "enabled") == true {
		if r.find("HorizontalPodAutoscaler", fullname(svc)) == nil {
			t.Errorf("%s: autoscaling enabled but no HPA", where)
		}
	} else if num(replicas) != num(vals["replicaCount"]) {
		t.Errorf("%s: replicas %v, values say %v", where, replicas, vals["replicaCount"])
	}
	if r.find("PodDisruptionBudget", fullname(svc)) == nil {
		t.Errorf("%s: no PodDisruptionBudget", where)
	}

	switch mode := str(r.value("podAntiAffinity")); mode {
	case "soft", "hard":
		key := map[string]string{"soft": "preferredDuringSchedulingIgnoredDuringExecution",
			"hard": "requiredDuringSchedulingIgnoredDuringExecution"}[mode]
		term := dig(pod, "affinity", "podAntiAffinity", key, "0")
		if mode == "soft" {
			term = dig(term, "podAffinityTerm")
		}
		if !sameJSON(dig(term, "labelSelector", "matchLabels"), dig(deploy, "spec", "selector", "matchLabels")) {
			t.Errorf("%s: %s anti-affinity does not select its own pods: %v", where, mode, pod["affinity"])
		}
	case "none":
		if pod["affinity"] != nil {
			t.Errorf("%s: affinity %v with podAntiAffinity none", where, pod["affinity"])
		}
	}

	if svc == "gateway" {
		// Presence must name this pod, so the message service pushes to the pod holding the client.
		podIP := -1
		for i, e := range list(c["env"]) {
			if dig(e, "name") == "POD_IP" && dig(e, "valueFrom", "fieldRef", "fieldPath") == "status.podIP" {
				podIP = i
			}
			if dig(e, "name") == "IM_ADVERTISE_ADDR" && (podIP < 0 || str(dig(e, "value")) != fmt.Sprintf("$(POD_IP):%d", grpcPort)) {
				t.Errorf("%s: IM_ADVERTISE_ADDR %v is not the pod IP (set before it) and gRPC port", where, dig(e, "value"))
			}
		}
		if env["IM_WS_PORT"] != str(vals["wsPort"]) || ports["ws"] != num(vals["wsPort"]) {
			t.Errorf("%s: WebSocket port env %q / container %d, values say %v", where, env["IM_WS_PORT"], ports["ws"], vals["wsPort"])
		}
		if env["IM_CLOSE_TIMEOUT"] != fmt.Sprintf("%ds", num(vals["closeTimeoutSeconds"])) {
			t.Errorf("%s: IM_CLOSE_TIMEOUT %q, values say %v s", where, env["IM_CLOSE_TIMEOUT"], vals["closeTimeoutSeconds"])
		}
	}
}

// checkLayout checks the templates' names say what they hold: a service's objects come from
// templates/<service>.yaml (its workload) or templates/<service>-*.yaml (the gateway's WebSocket
// Service and Ingress), a dev store's from templates/dev-<store>.yaml.
func (r *chartRender) checkLayout() {
	files := map[string][]string{"postgres": {"dev-postgres"}, "redis": {"dev-redis"}}
	for _, svc := range r.rs.services {
		files[svc] = []string{svc, svc + "-*"}
	}
	for _, d := range r.docs {
		component := str(dig(d.obj, "metadata", "labels", "app.kubernetes.io/component"))
		patterns, owned := files[component]
		if !owned {
			continue
		}
		if dir := path.Dir(d.source); path.Base(dir) != "templates" {
			r.t.Errorf("%s %s: from %s, not a template directly in templates/", d.obj["kind"],
				dig(d.obj, "metadata", "name"), d.source)
		}
		name, matched := strings.TrimSuffix(path.Base(d.source), ".yaml"), false
		for _, p := range patterns {
			ok, _ := path.Match(p, name)
			matched = matched || ok
		}
		if !matched {
			r.t.Errorf("%s %s of %s: from %s, want templates/%s.yaml", d.obj["kind"],
				dig(d.obj, "metadata", "name"), component, d.source, strings.Join(patterns, ".yaml or "))
		}
	}
}

// podsMatching returns the Deployment whose pods carry all the labels of selector.
func (r *chartRender) podsMatching(selector interface{}) object {
	sel, _ := selector.(object)
	if len(sel) == 0 {
		return nil
	}
	for _, d := range r.all("Deployment") {
		labels, _ := dig(d, "spec", "template", "metadata", "labels").(object)
		match := true
		for k, v := range sel {
			match = match && labels[k] == v
		}
		if match {
			return d
		}
	}
	return nil
}

// checkServices checks every Service reaches pods, on ports those pods declare.
func (r *chartRender) checkServices() {
	for _, s := range r.all("Service") {
		name := dig(s, "metadata", "name")
		d := r.podsMatching(dig(s, "spec", "selector"))
		if d == nil {
			r.t.Errorf("Service %s selects no Deployment's pods", name)
			continue
		}
		declared := map[string]bool{}
		for _, c := range list(dig(d, "spec", "template", "spec", "containers")) {
			for _, p := range list(dig(c, "ports")) {
				declared[str(dig(p, "name"))] = true
			}
		}
		for _, p := range list(dig(s, "spec", "ports")) {
			if !declared[str(dig(p, "targetPort"))] {
				r.t.Errorf("Service %s: targetPort %v is not a port of %s", name, dig(p, "targetPort"), dig(d, "metadata", "name"))
			}
		}
	}
}

// servicePort returns the port named name of the Service, 0 when absent.
func (r *chartRender) servicePort(service, name string) int {
	for _, p := range list(dig(r.find("Service", service), "spec", "ports")) {
		if dig(p, "name") == name {
			return num(dig(p, "port"))
		}
	}
	return 0
}

// checkAddresses checks every address the services are given names a rendered Service's port.
func (r *chartRender) checkAddresses() {
	cm := r.mustFind("ConfigMap", release+"-im-config")
	for k, v := range cm["data"].(object) {
		if !strings.HasSuffix(k, "_ADDR") {
			continue
		}
		host, port, _ := strings.Cut(str(v), ":")
		found := false
		for _, p := range list(dig(r.find("Service", host), "spec", "ports")) {
			found = found || num(dig(p, "port")) == num(port)
		}
		external := k == "IM_REDIS_ADDR" && r.value("devStores", "enabled") != true
		if !found && !external {
			r.t.Errorf("ConfigMap %s=%v: no rendered Service %s with port %s", k, v, host, port)
		}
	}
}

// checkMigrations checks the hook Job: run.sh's migration run of every service, before the pods.
func (r *chartRender) checkMigrations() {
	t := r.t
	t.Helper()
	jobs := r.all("Job")
	if len(jobs) != 1 {
		t.Fatalf("%d Jobs rendered, want the migration hook", len(jobs))
	}
	job := jobs[0]
	hook := "pre-install,pre-upgrade"
	if r.value("devStores", "enabled") == true {
		hook = "post-install,pre-upgrade"
	}
	if got := dig(job, "metadata", "annotations", "helm.sh/hook"); got != hook {
		t.Errorf("migration Job: hook %v, want %s", got, hook)
	}
	containers := list(dig(job, "spec", "template", "spec", "containers"))
	if len(containers) != len(r.rs.services) {
		t.Errorf("migration Job: %d containers, want one per service", len(containers))
	}
	for i, c := range containers {
		c := c.(object)
		svc := str(c["name"])
		where := "migration Job container " + svc
		if i < len(r.rs.services) && svc != r.rs.services[i] {
			t.Errorf("%s: at %d, run.sh migrates %s there", where, i, r.rs.services[i])
		}
		if deploy := r.find("Deployment", fullname(svc)); deploy == nil || c["image"] != container(deploy)["image"] {
			t.Errorf("%s: image %v is not its service's", where, c["image"])
		}
		var args []string
		for _, a := range list(c["args"]) {
			args = append(args, str(a))
		}
		if strings.Join(args, " ") != strings.Join(r.rs.migrateArgs, " ") {
			t.Errorf("%s: args %v, run.sh migrates with %v", where, args, r.rs.migrateArgs)
		}
		if c["envFrom"] != nil {
			t.Errorf("%s: envFrom would read the release's ConfigMap, which a pre-install hook precedes", where)
		}
		for _, p := range compareEnv(where, r.rs.migrateEnv[svc], r.flags[svc], r.envOf(c)) {
			t.Error(p)
		}
		ref := r.checkSecretRefs(where, c)["IM_POSTGRES_DSN"]
		if ref[0] == "" {
			t.Errorf("%s: IM_POSTGRES_DSN is not read from a Secret", where)
		} else if s := r.find("Secret", ref[0]); s != nil &&
			(dig(s, "metadata", "annotations", "helm.sh/hook") != hook ||
				num(dig(s, "metadata", "annotations", "helm.sh/hook-weight")) >= num(dig(job, "metadata", "annotations", "helm.sh/hook-weight"))) {
			t.Errorf("%s: Secret %s is not a hook created before the Job", where, ref[0])
		}
	}
}

func TestChartRequiresStores(t *testing.T) {
	for what, set := range map[string]object{
		"redis.addr":   {"postgres": object{"existingSecret": "db"}},
		"postgres.dsn": {"redis": object{"addr": "redis:6379"}},
	} {
		_, _, err := renderChart(chartDir, renderOptions{set: set})
		if err == nil || !strings.Contains(err.Error(), "set "+what) {
			t.Errorf("without %s: got %v, want the chart to ask for it", what, err)
		}
	}
}

func TestChartDefaults(t *testing.T) {
	r := render(t, renderOptions{set: installSet()})
	r.check()
	for _, kind := range []string{"Ingress", "HorizontalPodAutoscaler", "ServiceMonitor", "Secret"} {
		if objs := r.all(kind); len(objs) != 0 {
			t.Errorf("%d %s rendered by default (existing Postgres Secret, no JWT secret)", len(objs), kind)
		}
	}
	ref := r.checkSecretRefs("", container(r.all("Job")[0]))["IM_POSTGRES_DSN"]
	if ref != [2]string{"im-db-app", "uri"} {
		t.Errorf("migration Job reads the DSN from %v, want the existing Secret's uri", ref)
	}
	if got := r.mustFind("ConfigMap", release+"-im-config")["data"].(object)["IM_REDIS_ADDR"]; got != "redis-master.redis:6379" {
		t.Errorf("IM_REDIS_ADDR %v", got)
	}
	ws := r.mustFind("Service", fullname("gateway")+"-ws")
	if dig(ws, "spec", "type") != "ClusterIP" || r.servicePort(fullname("gateway"), "ws") != 0 {
		t.Errorf("the WebSocket Service must be apart from the gateway's gRPC Service: %v", ws["spec"])
	}
}

func TestChartServiceMonitor(t *testing.T) {
	r := render(t, renderOptions{valueFiles: []string{"values-dev.yaml"},
		apiVersions: []string{"monitoring.coreos.com/v1/ServiceMonitor"}})
	r.check()
	sm := r.mustFind("ServiceMonitor", release+"-im")
	if dig(sm, "spec", "endpoints", "0", "port") != "metrics" {
		t.Errorf("ServiceMonitor endpoints %v", dig(sm, "spec", "endpoints"))
	}
	for _, svc := range r.rs.services {
		s := r.mustFind("Service", fullname(svc))
		if !selects(dig(sm, "spec", "selector"), dig(s, "metadata", "labels")) || r.servicePort(fullname(svc), "metrics") == 0 {
			t.Errorf("ServiceMonitor does not scrape %s", svc)
		}
	}
	for _, store := range []string{"postgres", "redis"} {
		if s := r.find("Service", fullname(store)); s != nil && selects(dig(sm, "spec", "selector"), dig(s, "metadata", "labels")) {
			t.Errorf("ServiceMonitor selects the dev %s", store)
		}
	}
}

// selects evaluates a label selector (matchLabels, matchExpressions with In) on labels.
func selects(selector, labels interface{}) bool {
	l, _ := labels.(object)
	for k, v := range dig(selector, "matchLabels").(object) {
		if l[k] != v {
			return false
		}
	}
	for _, e := range list(dig(selector, "matchExpressions")) {
		if dig(e, "operator") != "In" {
			return false
		}
		in := false
		for _, v := range list(dig(e, "values")) {
			in = in || l[str(dig(e, "key"))] == v
		}
		if !in {
			return false
		}
	}
	return true
}

func TestChartDev(t *testing.T) {
	r := render(t, renderOptions{valueFiles: []string{"values-dev.yaml"}})
	r.check()
	for _, store := range []string{"postgres", "redis"} {
		r.mustFind("Deployment", fullname(store))
		r.mustFind("Service", fullname(store))
	}
	if got := r.secretValue(release+"-im", "postgres-dsn"); got != "postgresql://postgres@"+fullname("postgres")+":5432/im" {
		t.Errorf("dev DSN %q does not point at the dev Postgres Service", got)
	}
	if got := r.secretValue(release+"-im-migrations", "postgres-dsn"); got != r.secretValue(release+"-im", "postgres-dsn") {
		t.Errorf("migration hook DSN %q differs from the services'", got)
	}
	for _, svc := range r.rs.services {
		if n := num(dig(r.mustFind("Deployment", fullname(svc)), "spec", "replicas")); n != 1 {
			t.Errorf("dev %s: %d replicas", svc, n)
		}
	}
}

// Every option set at once, checked where it must land.
func TestChartValuesFlow(t *testing.T) {
	r := render(t, renderOptions{set: object{
		"image":           object{"registry": "registry.example.com", "tag": "1.2.3"},
		"postgres":        object{"dsn": "postgresql://im:pw@db.example.com:5432/im?sslmode=verify-full"},
		"redis":           object{"addr": "redis.example.com:6379"},
		"jwt":             object{"secret": "s3cret"},
		"drain":           object{"preStopSeconds": 3, "timeoutSeconds": 20},
		"probes":          object{"readiness": object{"periodSeconds": 3}},
		"podAntiAffinity": "hard",
		"logLevel":        "debug",
		"sequence":        object{"probes": object{"liveness": object{"failureThreshold": 9}}},
		"message": object{"replicaCount": 5, "flags": object{"send_lanes": 8,
			"send_max_queue": 1000000, "node_lease_ttl": "45s"}},
		"gateway": object{
			"closeTimeoutSeconds": 7,
			"autoscaling":         object{"enabled": true},
			"wsService":           object{"type": "LoadBalancer", "annotations": object{"lb/idle-timeout": "3600"}},
			"ingress": object{"enabled": true, "host": "chat.example.com",
				"tls": []interface{}{object{"secretName": "chat-tls", "hosts": []interface{}{"chat.example.com"}}}},
		},
	}})
	r.check()

	data := r.mustFind("ConfigMap", release+"-im-config")["data"].(object)
	if data["IM_DRAIN_TIMEOUT"] != "20s" || data["IM_LOG_LEVEL"] != "debug" {
		t.Errorf("ConfigMap %v: drain timeout or log level not from values", data)
	}
	if got := r.secretValue(release+"-im", "postgres-dsn"); got != "postgresql://im:pw@db.example.com:5432/im?sslmode=verify-full" {
		t.Errorf("DSN in the Secret: %q", got)
	}
	if r.secretValue(release+"-im", "jwt-secret") != "s3cret" {
		t.Errorf("JWT secret not in the Secret")
	}
	if dig(r.mustFind("Secret", release+"-im-migrations"), "data", "jwt-secret") != nil {
		t.Errorf("the migration hook's Secret carries the JWT secret it does not need")
	}
	gateway := container(r.mustFind("Deployment", fullname("gateway")))
	if ref := r.checkSecretRefs("gateway", gateway)["IM_JWT_SECRET"]; ref != [2]string{release + "-im", "jwt-secret"} {
		t.Errorf("gateway IM_JWT_SECRET from %v", ref)
	}
	message := r.envOf(container(r.mustFind("Deployment", fullname("message"))))
	if message["IM_SEND_MAX_QUEUE"] != "1000000" || message["IM_NODE_LEASE_TTL"] != "45s" {
		t.Errorf("message flags reached the env as %q and %q", message["IM_SEND_MAX_QUEUE"], message["IM_NODE_LEASE_TTL"])
	}
	if _, ok := r.envOf(container(r.mustFind("Deployment", fullname("sequence"))))["IM_SEND_LANES"]; ok {
		t.Errorf("message.flags reached the sequence service")
	}

	ingress := r.mustFind("Ingress", fullname("gateway"))
	backend := dig(ingress, "spec", "rules", "0", "http", "paths", "0", "backend", "service")
	wsName := fullname("gateway") + "-ws"
	if dig(backend, "name") != wsName || r.servicePort(wsName, str(dig(backend, "port", "name"))) == 0 {
		t.Errorf("Ingress backend %v is not the WebSocket Service's ws port", backend)
	}
	if dig(ingress, "spec", "rules", "0", "host") != "chat.example.com" || dig(ingress, "spec", "tls", "0", "secretName") != "chat-tls" {
		t.Errorf("Ingress host or TLS not from values: %v", ingress["spec"])
	}
	for _, a := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
		// Above the gateway's --idle_timeout default (120s): the gateway decides when a quiet client ends.
		if v := num(dig(ingress, "metadata", "annotations", "nginx.ingress.kubernetes.io/"+a)); v <= 120 {
			t.Errorf("Ingress %s = %d, under the gateway's idle timeout", a, v)
		}
	}
	ws := r.mustFind("Service", wsName)
	if dig(ws, "spec", "type") != "LoadBalancer" || dig(ws, "metadata", "annotations", "lb/idle-timeout") != "3600" {
		t.Errorf("WebSocket Service type or annotations not from values: %v", ws)
	}
	if hpa := r.mustFind("HorizontalPodAutoscaler", fullname("gateway")); dig(hpa, "spec", "behavior", "scaleDown") == nil {
		t.Errorf("gateway HPA scales in as fast as it scales out, disconnecting clients in bulk")
	}
}

func TestChartRefusesFlagsItOwns(t *testing.T) {
	set := installSet()
	set["gateway"] = object{"flags": object{"advertise_addr": "1.2.3.4:7002"}}
	_, _, err := renderChart(chartDir, renderOptions{set: set})
	if err == nil || !strings.Contains(err.Error(), "gateway.flags.advertise_addr") {
		t.Errorf("got %v, want gateway.flags.advertise_addr refused", err)
	}
}
