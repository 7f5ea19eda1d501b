// scripts/run.sh is the one source of truth for how the binaries are started: these helpers read
// the env names and flags it passes, and the flags each binary defines, so the chart and compose
// tests compare against them instead of against a copy.
package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const repoRoot = "../.."

// runSh is what scripts/run.sh gives each service.
type runSh struct {
	services []string
	// Env names of the serving process and of the migration run, per service.
	serveEnv, migrateEnv map[string][]string
	// Flags on the command line of the migration run (e.g. --migrate_only).
	migrateArgs []string
}

// shArray is one `name=(...)` or `name+=(...)` of run.sh.
type shArray struct {
	names []string // IM_... names, possibly with ${svc^^}
	refs  []string // arrays spliced in with "${other[@]}"
	only  string   // set when the line is guarded by [[ "$svc" == NAME ]]
}

var (
	servicesRe   = regexp.MustCompile(`(?m)^services=\(([^)]*)\)`)
	arrayStartRe = regexp.MustCompile(`(?m)^(.*?)\b([a-z_]+)\+?=\(`)
	onlyForRe    = regexp.MustCompile(`\[\[ "\$svc" == "?(\w+)"? \]\]`)
	envNameRe    = regexp.MustCompile(`(?:^|[\s"(])(IM_[A-Z0-9_]*(?:\$\{svc\^\^\})?[A-Z0-9_]*)=`)
	arrayRefRe   = regexp.MustCompile(`"\$\{(\w+)\[@\]\}"`)
	invocationRe = regexp.MustCompile(`env "\$\{(\w+)\[@\]\}" "\$bin"([^>&|\n]*)`)
	flagArgRe    = regexp.MustCompile(`--\w+`)
	abslFlagRe   = regexp.MustCompile(`ABSL_FLAG\(\s*[\w:<>]+\s*,\s*(\w+)\s*,`)
)

func parseRunSh(t *testing.T) runSh {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "scripts/run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	m := servicesRe.FindStringSubmatch(text)
	if m == nil {
		t.Fatal("scripts/run.sh: no services=(...) list")
	}
	rs := runSh{services: strings.Fields(m[1]), serveEnv: map[string][]string{},
		migrateEnv: map[string][]string{}}

	arrays := map[string][]shArray{}
	for _, loc := range arrayStartRe.FindAllStringSubmatchIndex(text, -1) {
		prefix, name := text[loc[2]:loc[3]], text[loc[4]:loc[5]]
		// The array's body runs to the parenthesis closing the one the match ended on.
		depth, end := 1, loc[1]
		for ; end < len(text) && depth > 0; end++ {
			switch text[end] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		body := text[loc[1] : end-1]
		arr := shArray{}
		if only := onlyForRe.FindStringSubmatch(prefix); only != nil {
			arr.only = only[1]
		}
		for _, n := range envNameRe.FindAllStringSubmatch(body, -1) {
			arr.names = append(arr.names, n[1])
		}
		for _, r := range arrayRefRe.FindAllStringSubmatch(body, -1) {
			arr.refs = append(arr.refs, r[1])
		}
		arrays[name] = append(arrays[name], arr)
	}

	// Names in ${svc^^} form are added in a loop over all services ("every service gets the address
	// of every service"), so they stand for each service's name.
	var expand func(array, svc string, seen map[string]bool) []string
	expand = func(array, svc string, seen map[string]bool) []string {
		if seen[array] {
			return nil
		}
		seen[array] = true
		var out []string
		for _, arr := range arrays[array] {
			if arr.only != "" && arr.only != svc {
				continue
			}
			for _, n := range arr.names {
				if !strings.Contains(n, "${svc^^}") {
					out = append(out, n)
					continue
				}
				for _, each := range rs.services {
					out = append(out, strings.ReplaceAll(n, "${svc^^}", strings.ToUpper(each)))
				}
			}
			for _, ref := range arr.refs {
				out = append(out, expand(ref, svc, seen)...)
			}
		}
		return out
	}

	invocations := invocationRe.FindAllStringSubmatch(text, -1)
	var serveArray, migrateArray string
	for _, inv := range invocations {
		if args := flagArgRe.FindAllString(inv[2], -1); len(args) > 0 {
			migrateArray, rs.migrateArgs = inv[1], args
		} else {
			serveArray = inv[1]
		}
	}
	if len(invocations) != 2 || serveArray == "" || migrateArray == "" {
		t.Fatalf("scripts/run.sh no longer starts each binary once with `env \"${ARRAY[@]}\" \"$bin\" "+
			"--FLAG` (migrations) and once without flags (serving); found %q. Update tests/deploy "+
			"to read it.", invocations)
	}
	for _, svc := range rs.services {
		rs.serveEnv[svc] = sortedUnique(expand(serveArray, svc, map[string]bool{}))
		rs.migrateEnv[svc] = sortedUnique(expand(migrateArray, svc, map[string]bool{}))
		if len(rs.serveEnv[svc]) == 0 || len(rs.migrateEnv[svc]) == 0 {
			t.Fatalf("scripts/run.sh: found no env names for %s", svc)
		}
	}
	return rs
}

// binaryFlags returns the flags each service's binary defines (common/ plus its own folder).
func binaryFlags(t *testing.T, services []string) map[string]map[string]bool {
	t.Helper()
	read := func(dir string) []string {
		files, err := filepath.Glob(filepath.Join(repoRoot, dir, "*.cc"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no sources in %s", dir)
		}
		var flags []string
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range abslFlagRe.FindAllStringSubmatch(string(data), -1) {
				flags = append(flags, m[1])
			}
		}
		return flags
	}
	common := read("common")
	out := map[string]map[string]bool{}
	for _, svc := range services {
		out[svc] = map[string]bool{}
		for _, f := range append(read("services/"+svc), common...) {
			out[svc][f] = true
		}
	}
	return out
}

func sortedUnique(in []string) []string {
	set := map[string]bool{}
	for _, s := range in {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// compareEnv checks the env a deployment gives a binary against run.sh: every name run.sh passes
// must be there, and every other IM_ name must be a flag of that binary (so a typo cannot pass
// as "extra"). A non-IM_ name must feed an IM_ value through $(NAME) (the downward API).
// env maps names to values ("" when the value comes from elsewhere).
func compareEnv(where string, want []string, flags map[string]bool, env map[string]string) []string {
	var problems []string
	wanted := map[string]bool{}
	for _, name := range want {
		wanted[name] = true
		if _, ok := env[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s: lacks %s, which scripts/run.sh sets", where, name))
		}
	}
	for name := range env {
		switch {
		case wanted[name]:
		case strings.HasPrefix(name, "IM_"):
			if !flags[strings.ToLower(strings.TrimPrefix(name, "IM_"))] {
				problems = append(problems, fmt.Sprintf("%s: sets %s, neither in scripts/run.sh nor "+
					"a flag of the binary", where, name))
			}
		default:
			used := false
			for _, v := range env {
				used = used || strings.Contains(v, "$("+name+")")
			}
			if !used {
				problems = append(problems, fmt.Sprintf("%s: sets %s, which no IM_ value uses", where, name))
			}
		}
	}
	sort.Strings(problems)
	return problems
}

func TestRunShParsing(t *testing.T) {
	rs := parseRunSh(t)
	// Spot checks that the parser reads run.sh as it is written, not that run.sh has these.
	for _, svc := range rs.services {
		has := map[string]bool{}
		for _, n := range rs.serveEnv[svc] {
			has[n] = true
		}
		for _, n := range []string{"IM_POSTGRES_DSN", "IM_GRPC_PORT", "IM_" + strings.ToUpper(svc) + "_ADDR"} {
			if !has[n] {
				t.Errorf("parsed run.sh env of %s lacks %s: %v", svc, n, rs.serveEnv[svc])
			}
		}
		if has["IM_WS_PORT"] != (svc == "gateway") {
			t.Errorf("parsed run.sh: IM_WS_PORT for %s is %v, want only the gateway's", svc, has["IM_WS_PORT"])
		}
	}
	if strings.Join(rs.migrateArgs, " ") != "--migrate_only" {
		t.Errorf("parsed run.sh migration args %v", rs.migrateArgs)
	}
}
