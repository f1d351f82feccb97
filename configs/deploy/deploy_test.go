// Package deploy holds the deployment files of leadflow (compose files, the
// Helm chart, the health probe of the image); its tests check that what they
// configure is a configuration leadflow accepts. .ci/deploy-check validates
// the files against the compose and Kubernetes schemas.
package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/leadflow/leadflow/configs"
)

// chartConfig returns the leadflow config the chart renders for the given
// values files (merged in order over values.yaml), with the keys the chart
// sets itself (templates/_helpers.tpl: leadflow.config).
func chartConfig(t *testing.T, valuesFiles ...string) map[string]any {
	t.Helper()
	cfg := map[string]any{}
	for _, f := range append([]string{"helm/leadflow/values.yaml"}, valuesFiles...) {
		var v struct {
			Config map[string]any `yaml:"config"`
		}
		readYAML(t, f, &v)
		merge(cfg, v.Config)
	}
	merge(cfg, map[string]any{"http": map[string]any{"addr": ":8080"}, "data": map[string]any{"dir": "/data"}})
	return cfg
}

// merge deep-merges src into dst as helm merges values maps.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestChartConfigIsValid loads the ConfigMap the chart renders, for its
// default values and for ci/scaled-values.yaml, with leadflow's own loader:
// an unknown or misspelt key in values.yaml's config would stop every pod.
func TestChartConfigIsValid(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
	}{
		{"default", []string{"helm/leadflow/ci/default-values.yaml"}},
		{"scaled", []string{"helm/leadflow/ci/scaled-values.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := yaml.Marshal(chartConfig(t, tc.values...))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "leadflow.yaml")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			// The Secret provides these two as environment variables.
			env := []string{"LEADFLOW_ADMIN_TOKEN=t", "LEADFLOW_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
			cfg, err := configs.Load(path, env)
			if err != nil {
				t.Fatalf("the chart's config does not load:\n%s\n%v", b, err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the chart's config is invalid:\n%s\n%v", b, err)
			}
			if cfg.HTTP.Addr != ":8080" || cfg.Data.Dir != "/data" {
				t.Fatalf("http.addr %q, data.dir %q: the probes and volumes expect :8080 and /data", cfg.HTTP.Addr, cfg.Data.Dir)
			}
		})
	}
}

// TestChartDefaultsMatchLeadflow checks that the values.yaml defaults the
// chart repeats from configs/leadflow.yaml (and relies on: KEDA's topic
// names and replica cap) are leadflow's defaults.
func TestChartDefaultsMatchLeadflow(t *testing.T) {
	cfg := chartConfig(t)
	def := configs.Default()
	topics := cfg["topics"].(map[string]any)
	if topics["prefix"] != def.Topics.Prefix || topics["partitions"] != int(def.Topics.Partitions) {
		t.Fatalf("values.yaml topics %v; leadflow's defaults are prefix %q, partitions %d", topics, def.Topics.Prefix, def.Topics.Partitions)
	}
}

var envRef = regexp.MustCompile(`\bLEADFLOW_[A-Z0-9_]+\b`)

// TestEnvNamesAreSettings checks every LEADFLOW_* variable the deployment
// files set against the settings leadflow reads (configs.EnvNames): a
// misspelt variable is silently ignored by the process.
func TestEnvNamesAreSettings(t *testing.T) {
	known := configs.EnvNames()
	// Variables of the compose files' own interpolation, never passed to leadflow.
	local := map[string]bool{"LEADFLOW_IMAGE": true, "LEADFLOW_ALLOW_PRIVATE_NETWORKS": true}
	files := []string{"compose.yaml", "compose.external.yaml", "../../Dockerfile", "../../Dockerfile.multistage",
		"helm/leadflow/templates/deployment.yaml", "helm/leadflow/ci/scaled-values.yaml", "helm/leadflow/values.yaml"}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range envRef.FindAllString(string(b), -1) {
			seen[name] = true
			if _, ok := known[name]; !ok && !local[name] {
				t.Errorf("%s: %s is not a leadflow setting (configs.EnvNames)", f, name)
			}
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) < 10 {
		t.Fatalf("found only %v: the files were not read as expected", names)
	}
}
