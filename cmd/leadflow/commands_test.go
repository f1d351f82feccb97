package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// produce reports each acknowledged line with partition and offset, and
// each bad line with its number and the field, on stderr; it exits 1 when
// a line was not produced.
func TestProduceReportsAcksAndBadLines(t *testing.T) {
	env := topicstest.New(t, 1)
	stdin = strings.NewReader(`{"event_id":"e1","workspace_id":"ws_123","session_id":"s_9f1c","type":"pageview","ip":"198.51.100.23","url":"https://www.example.com/pricing?utm_source=google","timestamp":"2024-05-15T10:55:50Z"}` +
		"\n" + `{"event_id":"e2","workspace_id":"ws_123","session_id":"s_2","type":"pageview","url":"https://www.example.com/","timestamp":"2024-05-15T10:55:50Z"}` + "\n")
	t.Cleanup(func() { stdin = os.Stdin })
	var out, errOut bytes.Buffer
	code := run([]string{"produce", "--brokers", strings.Join(env.Brokers, ","), "--topic", env.Topics.Raw}, &out, &errOut)
	if code != 1 {
		t.Fatalf("code %d; want 1 (a line was not produced)\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "line 1: acknowledged: "+env.Topics.Raw+" partition 0 offset 0") ||
		!strings.Contains(out.String(), "2 lines: 1 acknowledged by Kafka, 1 rejected") {
		t.Errorf("stdout %q", out.String())
	}
	if !strings.Contains(errOut.String(), `line 2: not produced: field "ip"`) {
		t.Errorf("stderr %q; want line 2 naming the missing ip", errOut.String())
	}
}

// --sample produces the guide's visits.
func TestProduceSample(t *testing.T) {
	env := topicstest.New(t, 1)
	var out, errOut bytes.Buffer
	code := run([]string{"produce", "--brokers", strings.Join(env.Brokers, ","), "--topic", env.Topics.Raw, "--sample", "netcontrol,mdx"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "2 lines: 2 acknowledged") || !strings.Contains(out.String(), `(key "s_9f1c")`) {
		t.Fatalf("code %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
}

// An unreachable broker is one line that names the setting, at once.
func TestUnreachableBrokerIsOneLine(t *testing.T) {
	for _, cmd := range [][]string{{"produce", "--sample", "netcontrol"}, {"replay"}} {
		var out, errOut bytes.Buffer
		start := time.Now()
		code := run(append(cmd, "--brokers", freeAddr(t)), &out, &errOut)
		lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
		if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "no Kafka broker answered") || !strings.Contains(lines[0], "kafka.brokers") {
			t.Errorf("%s: code %d, stderr %q; want one line naming kafka.brokers", cmd[0], code, errOut.String())
		}
		if d := time.Since(start); d > 2*reachTimeout {
			t.Errorf("%s took %s", cmd[0], d)
		}
	}
}

// replay -h shows real defaults, not a type name taken from back quotes.
func TestReplayHelpShowsDefaults(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"replay", "-h"}, &out, &errOut); code != 0 {
		t.Fatalf("code %d", code)
	}
	h := errOut.String()
	for _, want := range []string{`(default "dlq")`, `(default "127.0.0.1:9092")`, "-config string"} {
		if !strings.Contains(h, want) {
			t.Errorf("replay -h lacks %q:\n%s", want, h)
		}
	}
}

// Every command's -h names flag types plainly: a back-quoted word in a
// flag's usage would show up as its type ("-config leadflow run").
func TestHelpFlagTypesArePlain(t *testing.T) {
	ok := map[string]bool{"string": true, "int": true, "float": true, "duration": true, "value": true, "uint": true, "int64": true, "uint64": true}
	for name := range commands() {
		if name == "version" {
			continue
		}
		var out, errOut bytes.Buffer
		run([]string{name, "-h"}, &out, &errOut)
		for _, l := range strings.Split(errOut.String()+out.String(), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && strings.HasPrefix(l, "  -") && !ok[f[1]] {
				t.Errorf("%s -h: %q", name, l)
			}
		}
	}
}

// dev reads --config and LEADFLOW_* exactly as run does, over the dev
// defaults; only the infrastructure addresses are its own.
func TestDevTakesConfigAndEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev.yaml")
	yaml := "kafka:\n  brokers: [elsewhere:9092]\nlog:\n  format: json\nstages:\n  deliver:\n    retry_schedule: [0s, 2s, 10s]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := parseDevFlags([]string{"--config", path}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"LEADFLOW_ADMIN_TOKEN=t0k", "LEADFLOW_HTTP_ADDR=127.0.0.1:18080", "LEADFLOW_STAGES_ENRICH_MAX_EVENT_BYTES=2048"}
	cfg, err := devConfig(f, env, "127.0.0.1:1", "127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Format != "json" || cfg.Admin.Token != "t0k" || cfg.Stages.Enrich.MaxEventBytes != 2048 ||
		len(cfg.Stages.Deliver.RetrySchedule) != 3 || cfg.Stages.Deliver.RetrySchedule[2] != 10*time.Second {
		t.Errorf("file or env not applied: log %+v, token %q, max_event_bytes %d, retry %v", cfg.Log, cfg.Admin.Token,
			cfg.Stages.Enrich.MaxEventBytes, cfg.Stages.Deliver.RetrySchedule)
	}
	if cfg.Kafka.Brokers[0] != "127.0.0.1:1" || cfg.Redis.Addr != "127.0.0.1:2" || cfg.HTTP.Addr != "127.0.0.1:18080" {
		t.Errorf("kafka %v, redis %q, http %q; want the embedded ones and the env's http.addr", cfg.Kafka.Brokers, cfg.Redis.Addr, cfg.HTTP.Addr)
	}
	if !cfg.Stages.Deliver.AllowPrivateNetworks || cfg.Topics.Partitions != configs.DevDefault().Topics.Partitions {
		t.Error("dev defaults lost under the file")
	}
	// --http-addr beats the config; a bad value names the setting.
	f, _ = parseDevFlags([]string{"--http-addr", "127.0.0.1:18081"}, &bytes.Buffer{})
	if cfg, _ = devConfig(f, env, "k:1", "r:2"); cfg.HTTP.Addr != "127.0.0.1:18081" {
		t.Errorf("http.addr = %q; want the flag's", cfg.HTTP.Addr)
	}
	_, err = devConfig(f, []string{"LEADFLOW_STAGES_ENRICH_MAX_EVENT_BYTES=1"}, "k:1", "r:2")
	if err == nil || !strings.Contains(err.Error(), "stages.enrich.max_event_bytes") {
		t.Errorf("err = %v; want it to name stages.enrich.max_event_bytes", err)
	}
}

// Console logs carry ANSI colours only on a terminal.
func TestLogsHaveNoColoursOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(configs.LogConfig{Level: "info", Format: "console"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Warn("hello")
	if strings.Contains(buf.String(), "\x1b[") || !strings.Contains(buf.String(), "WARN") {
		t.Fatalf("log line %q; want WARN without escapes", buf.String())
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatal("a regular file counts as a terminal")
	}
}

// run against an unreachable broker fails with one line naming
// kafka.brokers, not one per topic.
func TestRunUnreachableBrokerIsOneLine(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"datagen", "--companies", "20", "--out", dir}, &out, &errOut); code != 0 {
		t.Fatalf("datagen: %s", errOut.String())
	}
	for k, v := range map[string]string{"LEADFLOW_DATA_DIR": dir, "LEADFLOW_KAFKA_BROKERS": freeAddr(t), "LEADFLOW_REDIS_ADDR": freeAddr(t),
		"LEADFLOW_HTTP_ADDR": "127.0.0.1:0", "LEADFLOW_ADMIN_TOKEN": "x", "LEADFLOW_LOG_LEVEL": "error"} {
		t.Setenv(k, v)
	}
	errOut.Reset()
	code := run([]string{"run"}, &out, &errOut)
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "no Kafka broker answered") || !strings.Contains(lines[0], "kafka.brokers") {
		t.Fatalf("code %d, stderr:\n%s\nwant one line naming kafka.brokers", code, errOut.String())
	}
}
