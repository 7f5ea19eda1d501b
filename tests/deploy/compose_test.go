// deploy/compose.yaml and deploy/Dockerfile: the compose file starts every binary with run.sh's
// env names and migration flags, from the Dockerfile's targets; the Dockerfile builds through
// scripts/lib.sh, as CI does.
package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func readCompose(t *testing.T) object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy/compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose object
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	return compose
}

// composeEnv reads a compose service's environment, which must be a map (with merges resolved).
func composeEnv(t *testing.T, name string, svc object) map[string]string {
	env := map[string]string{}
	m, ok := svc["environment"].(object)
	if !ok {
		t.Errorf("compose %s: environment is not a map: %v", name, svc["environment"])
	}
	for k, v := range m {
		env[k] = str(v)
	}
	return env
}

func TestComposeMatchesRunSh(t *testing.T) {
	rs := parseRunSh(t)
	flags := binaryFlags(t, rs.services)
	services, _ := readCompose(t)["services"].(object)
	targets := dockerfileTargets(t)

	for _, svc := range rs.services {
		entry, _ := services[svc].(object)
		if entry == nil || dig(entry, "build", "target") != svc || !targets[svc] {
			t.Errorf("compose: no %s service built from the Dockerfile's %s target", svc, svc)
			continue
		}
		env := composeEnv(t, svc, entry)
		for _, p := range compareEnv("compose "+svc, rs.serveEnv[svc], flags[svc], env) {
			t.Error(p)
		}
		var published []string
		for _, p := range list(entry["ports"]) {
			published = append(published, str(p))
		}
		grpc := env["IM_GRPC_PORT"]
		if !strings.Contains(" "+strings.Join(published, " ")+" ", " "+grpc+":"+grpc+" ") {
			t.Errorf("compose %s: gRPC port %s is not published (ports %v)", svc, grpc, published)
		}

		// Its migrations: the same image, run.sh's flags and env, finished before it starts.
		migrate := "migrate-" + svc
		m, _ := services[migrate].(object)
		if m == nil || m["image"] != entry["image"] {
			t.Errorf("compose: no %s step on %s's image", migrate, svc)
			continue
		}
		var args []string
		for _, a := range list(m["command"]) {
			args = append(args, str(a))
		}
		if strings.Join(args, " ") != strings.Join(rs.migrateArgs, " ") {
			t.Errorf("compose %s: command %v, run.sh migrates with %v", migrate, args, rs.migrateArgs)
		}
		for _, p := range compareEnv("compose "+migrate, rs.migrateEnv[svc], flags[svc], composeEnv(t, migrate, m)) {
			t.Error(p)
		}
		if dig(entry, "depends_on", migrate, "condition") != "service_completed_successfully" {
			t.Errorf("compose %s does not wait for %s", svc, migrate)
		}
	}

	// Presence must name the gateway as the message service reaches it.
	gateway := composeEnv(t, "gateway", services["gateway"].(object))
	if gateway["IM_ADVERTISE_ADDR"] != gateway["IM_GATEWAY_ADDR"] {
		t.Errorf("compose gateway advertises %q, its peers reach it at %q", gateway["IM_ADVERTISE_ADDR"], gateway["IM_GATEWAY_ADDR"])
	}

	// Every peer address names a compose service on its gRPC port.
	env := composeEnv(t, "sequence", services["sequence"].(object))
	for k, v := range env {
		if !strings.HasSuffix(k, "_ADDR") || k == "IM_REDIS_ADDR" {
			continue
		}
		host, port, _ := strings.Cut(v, ":")
		peer, _ := services[host].(object)
		if peer == nil || composeEnv(t, host, peer)["IM_GRPC_PORT"] != port {
			t.Errorf("compose %s=%s: no service %s with gRPC port %s", k, v, host, port)
		}
	}
}

var (
	fromRe = regexp.MustCompile(`(?mi)^FROM\s+(\S+)\s+AS\s+(\S+)`)
	// A stage runs from its FROM to the next one.
	stageRe = regexp.MustCompile(`(?mi)^FROM\s`)
)

// dockerfileStages maps each stage name to its text.
func dockerfileStages(t *testing.T) (stages map[string]string, bases map[string]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	stages, bases = map[string]string{}, map[string]string{}
	starts := stageRe.FindAllStringIndex(text, -1)
	for i, s := range starts {
		end := len(text)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		m := fromRe.FindStringSubmatch(text[s[0]:end])
		if m == nil {
			t.Fatalf("deploy/Dockerfile: unnamed stage at byte %d", s[0])
		}
		stages[m[2]], bases[m[2]] = text[s[0]:end], m[1]
	}
	return stages, bases
}

func dockerfileTargets(t *testing.T) map[string]bool {
	stages, _ := dockerfileStages(t)
	out := map[string]bool{}
	for name := range stages {
		out[name] = true
	}
	return out
}

func TestDockerfile(t *testing.T) {
	rs := parseRunSh(t)
	stages, bases := dockerfileStages(t)

	build := stages["build"]
	if !strings.Contains(build, "deploy/build.sh") {
		t.Errorf("the build stage does not build through deploy/build.sh:\n%s", build)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "deploy/build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scripts/lib.sh", "\nim_install_deps\n", "\nim_build\n"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("deploy/build.sh does not use %q, the install and build CI runs", strings.TrimSpace(want))
		}
	}

	if bases["runtime"] != "debian:12-slim" {
		t.Errorf("runtime stage is FROM %s, want debian:12-slim", bases["runtime"])
	}
	user := regexp.MustCompile(`(?m)^USER\s+(\d+)`).FindStringSubmatch(stages["runtime"])
	if user == nil || user[1] == "0" {
		t.Errorf("runtime stage has no numeric non-root USER")
	}
	for _, svc := range rs.services {
		stage, ok := stages[svc]
		if !ok || bases[svc] != "runtime" {
			t.Errorf("no %s target on the runtime stage", svc)
			continue
		}
		entry := fmt.Sprintf(`ENTRYPOINT ["/usr/local/bin/%s"]`, svc)
		copyBin := fmt.Sprintf("COPY --from=build /out/bin/%s /usr/local/bin/%s", svc, svc)
		if !strings.Contains(stage, entry) || !strings.Contains(stage, copyBin) {
			t.Errorf("%s target does not copy and run its binary:\n%s", svc, stage)
		}
		if strings.Contains(stage, "apt-get") {
			t.Errorf("%s target installs packages; only the runtime stage may", svc)
		}
	}
}
