// The part of helm these tests need, since no helm binary can be installed here: values loading
// and merging as helm does them, the chart's templates rendered by text/template with sprig (helm's
// own engine) plus helm's include, tpl, required, toYaml and fromYaml, and the output split into
// YAML documents.
//
//	docs, values, err := renderChart(chartDir, renderOptions{valueFiles: []string{"values-dev.yaml"}})
package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type object = map[string]interface{}

// manifest is one rendered YAML document and the template it came from.
type manifest struct {
	source string
	obj    object
}

type renderOptions struct {
	// Files inside the chart, merged over values.yaml in order, as `helm -f`.
	valueFiles []string
	// Merged last, as `--set`.
	set object
	// API versions the cluster has beyond the built-in ones ("group/version/Kind").
	apiVersions []string
}

// helmJSON converts decoded YAML the way helm's loader does (YAML -> JSON -> Go), so numbers are
// float64 in templates as they are under helm.
func helmJSON(in interface{}) (interface{}, error) {
	data, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var out interface{}
	return out, json.Unmarshal(data, &out)
}

func readYAMLFile(path string) (object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw object
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	converted, err := helmJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	values, _ := converted.(object)
	if values == nil {
		values = object{}
	}
	return values, nil
}

// coalesce merges override into base as helm merges user values into a chart's: maps merge key by
// key, anything else replaces, and null deletes the key.
func coalesce(base, override object) object {
	out := object{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range override {
		if v == nil {
			delete(out, k)
			continue
		}
		baseMap, baseIsMap := out[k].(object)
		overrideMap, overrideIsMap := v.(object)
		if baseIsMap && overrideIsMap {
			out[k] = coalesce(baseMap, overrideMap)
		} else {
			out[k] = v
		}
	}
	return out
}

// toYAML is helm's: JSON first (so keys sort and numbers print as JSON does), no trailing newline.
func toYAML(v interface{}) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var generic interface{}
	if err := yaml.Unmarshal(data, &generic); err != nil {
		return "", err
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(generic); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// fromYAML is helm's: a map, or one holding "Error" when the text is not a YAML map.
func fromYAML(text string) object {
	var raw object
	if err := yaml.Unmarshal([]byte(text), &raw); err != nil {
		return object{"Error": err.Error()}
	}
	converted, err := helmJSON(raw)
	if err != nil {
		return object{"Error": err.Error()}
	}
	m, _ := converted.(object)
	if m == nil {
		m = object{}
	}
	return m
}

func required(message string, v interface{}) (interface{}, error) {
	if v == nil {
		return nil, errors.New(message)
	}
	if s, ok := v.(string); ok && s == "" {
		return nil, errors.New(message)
	}
	return v, nil
}

// apiVersions answers .Capabilities.APIVersions.Has like helm: "group/version" or
// "group/version/Kind".
type apiVersions []string

func (a apiVersions) Has(version string) bool {
	for _, v := range a {
		if v == version || strings.HasPrefix(v, version+"/") {
			return true
		}
	}
	return false
}

// The API versions every supported cluster (1.24+) serves that the chart uses.
var builtinAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1",
}

// renderChart renders every template of the chart at chartDir (helm's `template` command) and
// returns the documents in template-name order, and the values they were rendered with.
func renderChart(chartDir string, opts renderOptions) ([]manifest, object, error) {
	meta, err := readYAMLFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, nil, err
	}
	values, err := readYAMLFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, nil, err
	}
	for _, file := range opts.valueFiles {
		extra, err := readYAMLFile(filepath.Join(chartDir, file))
		if err != nil {
			return nil, nil, err
		}
		values = coalesce(values, extra)
	}
	if opts.set != nil {
		set, err := helmJSON(opts.set)
		if err != nil {
			return nil, nil, err
		}
		values = coalesce(values, set.(object))
	}

	chartName := meta["name"].(string)
	basePath := chartName + "/templates"
	// Strict, as `helm lint --strict`: a misspelt value key is an error, not an empty string.
	root := template.New("chart").Option("missingkey=error")
	funcs := sprig.TxtFuncMap()
	// Helm removes these so a render cannot depend on the machine it runs on.
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["required"] = required
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var b strings.Builder
		err := root.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl %q: %w", text, err)
		}
		var b strings.Builder
		err = t.Execute(&b, data)
		return b.String(), err
	}
	root.Funcs(funcs)

	var names []string
	templatesDir := filepath.Join(chartDir, "templates")
	err = filepath.WalkDir(templatesDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(templatesDir, path)
		name := basePath + "/" + filepath.ToSlash(rel)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := root.New(name).Parse(string(data)); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(names)

	caps := object{"APIVersions": apiVersions(append(append([]string{}, builtinAPIVersions...),
		opts.apiVersions...))}
	chart := object{"Name": chartName, "Version": meta["version"], "AppVersion": meta["appVersion"]}
	release := object{"Name": "chat", "Namespace": "im", "Service": "Helm", "IsInstall": true,
		"IsUpgrade": false, "Revision": 1}
	var out []manifest
	for _, name := range names {
		// Partials (and NOTES.txt) are not manifests.
		if base := filepath.Base(name); strings.HasPrefix(base, "_") || strings.HasSuffix(base, ".txt") {
			continue
		}
		data := object{"Values": values, "Chart": chart, "Release": release,
			"Capabilities": caps, "Template": object{"Name": name, "BasePath": basePath}}
		var b strings.Builder
		if err := root.ExecuteTemplate(&b, name, data); err != nil {
			return nil, nil, err
		}
		docs, err := splitManifests(name, b.String())
		if err != nil {
			return nil, nil, err
		}
		out = append(out, docs...)
	}
	return out, values, nil
}

func splitManifests(source, text string) ([]manifest, error) {
	var out []manifest
	dec := yaml.NewDecoder(strings.NewReader(text))
	for i := 0; ; i++ {
		var obj object
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d is not YAML: %w\n%s", source, i, err, text)
		}
		if obj != nil {
			out = append(out, manifest{source: source, obj: obj})
		}
	}
}
