// Command composecheck validates leadflow's compose files the way `docker
// compose config` does, with the library docker compose itself uses
// (github.com/compose-spec/compose-go: the compose-spec JSON schema,
// interpolation, consistency checks), and then checks what leadflow needs
// of them: one service per stage running `run --stages STAGE`, every one
// with a health check on /readyz, deliver scaled to 2, the admin API
// published on 8080, and the required variables refused when unset.
//
//	cd .ci/composecheck && go run . ../../configs/deploy/compose.yaml ../../configs/deploy/compose.external.yaml
//
// Its own module, so that compose-go stays out of leadflow's go.mod.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

var stages = []string{"enrich", "leads", "evaluate", "deliver", "admin"}

// env has a value for every variable the files require.
var env = []string{
	"LEADFLOW_ADMIN_TOKEN=t", "LEADFLOW_SECRET_KEY=k",
	"LEADFLOW_KAFKA_BROKERS=kafka1:9092", "LEADFLOW_REDIS_ADDR=redis:6379",
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck FILE...")
		os.Exit(2)
	}
	failed := false
	for _, file := range os.Args[1:] {
		if err := check(file); err != nil {
			fmt.Fprintf(os.Stderr, "composecheck: %s: %v\n", file, err)
			failed = true
			continue
		}
		fmt.Printf("composecheck: %s: valid (compose-spec schema and leadflow's services)\n", file)
	}
	if failed {
		os.Exit(1)
	}
}

func load(file string, env []string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions([]string{file}, cli.WithEnv(env), cli.WithWorkingDirectory(filepath.Dir(file)))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func check(file string) error {
	p, err := load(file, env)
	if err != nil {
		return err
	}
	for _, name := range stages {
		s, ok := p.Services[name]
		if !ok {
			return fmt.Errorf("no service %q", name)
		}
		if want := []string{"run", "--stages", name}; !slices.Equal(s.Command, want) {
			return fmt.Errorf("service %s: command %q, want %q", name, s.Command, want)
		}
		if s.HealthCheck == nil || !strings.Contains(strings.Join(s.HealthCheck.Test, " "), "/readyz") {
			return fmt.Errorf("service %s: no health check on /readyz", name)
		}
		if s.Environment["LEADFLOW_SECRET_KEY"] == nil || *s.Environment["LEADFLOW_SECRET_KEY"] != "k" {
			return fmt.Errorf("service %s: LEADFLOW_SECRET_KEY is not passed through", name)
		}
	}
	deliver := p.Services["deliver"]
	if n := deliver.GetScale(); n != 2 {
		return fmt.Errorf("service deliver: %d replicas, want 2", n)
	}
	if !slices.ContainsFunc(p.Services["admin"].Ports, func(pc types.ServicePortConfig) bool { return pc.Target == 8080 }) {
		return fmt.Errorf("service admin: port 8080 is not published")
	}
	if k, ok := p.Services["kafka"]; ok {
		roles := k.Environment["KAFKA_PROCESS_ROLES"]
		if roles == nil || !strings.Contains(*roles, "controller") {
			return fmt.Errorf("service kafka: not in KRaft mode (KAFKA_PROCESS_ROLES has no controller)")
		}
		if _, ok := p.Services["redis"]; !ok {
			return fmt.Errorf("a kafka service but no redis service")
		}
	}
	// The secrets are required: loading without them must fail and say which.
	if _, err := load(file, env[1:]); err == nil || !strings.Contains(err.Error(), "LEADFLOW_ADMIN_TOKEN") {
		return fmt.Errorf("loads without LEADFLOW_ADMIN_TOKEN (err %v), want an error naming it", err)
	}
	return nil
}
