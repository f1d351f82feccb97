package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestVersionAndHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "leadflow "+version) {
		t.Fatalf("version: code %d, out %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "Commands:") {
		t.Fatalf("help: code %d, out %q", code, out.String())
	}
	// No command is a usage error: usage on stderr, exit 2.
	out.Reset()
	if code := run(nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "Commands:") || out.Len() != 0 {
		t.Fatalf("no command: code %d, stdout %q, stderr %q; want usage on stderr and 2", code, out.String(), errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: code %d, stderr %q", code, errOut.String())
	}
}

func TestRunRejectsBadConfigNamingTheField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("kafka:\n  brokers: [k:9092]\nredis:\n  addr: r:6379\ntopics:\n  partitions: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"run", "--config", path}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "topics.partitions: 0 is out of range") {
		t.Fatalf("code %d, stderr %q; want the bad field named", code, errOut.String())
	}
	errOut.Reset()
	code = run([]string{"run", "--config", path + ".missing"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no such file") {
		t.Fatalf("missing file: code %d, stderr %q", code, errOut.String())
	}
}

func TestDatagenWritesASet(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"datagen", "--seed", "3", "--companies", "50", "--out", dir}, &out, &errOut); code != 0 {
		t.Fatalf("code %d: %s", code, errOut.String())
	}
	for _, f := range []string{"ipdb.mmdb", "companies.jsonl", "contacts.jsonl"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(errOut.String(), "100%") {
		t.Errorf("no progress shown: %q", errOut.String())
	}
}

// dev starts on its embedded Kafka and Redis, answers /readyz, and stops
// cleanly when its context ends (Ctrl-C).
func TestDevStartsReadyAndStopsCleanly(t *testing.T) {
	httpAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- devCmd(ctx, []string{"--kafka-addr", freeAddr(t), "--http-addr", httpAddr}, &out, &errOut)
	}()
	kafkatest.Eventually(t, 60*time.Second, "/readyz answers 200", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dev returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop within 30s of Ctrl-C")
	}
}
