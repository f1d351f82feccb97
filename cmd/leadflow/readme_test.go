package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/enrich"
)

// repoRoot is the repository's folder, from cmd/leadflow.
var repoRoot = filepath.Join("..", "..")

func docs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append(files, filepath.Join(repoRoot, "README.md"))
}

// Every relative link of the README and docs/ points at a file inside the
// repository that exists: the repository is the whole documentation.
func TestDocLinksStayInTheRepository(t *testing.T) {
	root, _ := filepath.Abs(repoRoot)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range docs(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.HasPrefix(target, "http://127.0.0.1") || strings.HasPrefix(target, "https://") {
				continue
			}
			if strings.HasPrefix(target, "http://") {
				t.Errorf("%s links to %s", f, m[1])
				continue
			}
			abs, _ := filepath.Abs(filepath.Join(filepath.Dir(f), target))
			if !strings.HasPrefix(abs, root+string(filepath.Separator)) {
				t.Errorf("%s: link %s leaves the repository", f, m[1])
			} else if _, err := os.Stat(abs); err != nil {
				t.Errorf("%s: link %s: %v", f, m[1], err)
			}
		}
		if strings.Contains(string(b), "../shared") {
			t.Errorf("%s mentions ../shared, outside the repository", f)
		}
	}
}

// The sample raw events of the README and the contract are each one line
// that the enrich stage's decoder accepts, so pasting them into a
// line-based producer works.
func TestDocSampleEventsAreOneValidLine(t *testing.T) {
	dec := enrich.DefaultConfig().Decoder()
	n := 0
	for _, f := range []string{filepath.Join(repoRoot, "README.md"), filepath.Join(repoRoot, "docs", "contract.md")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(line, `{"event_id"`) {
				continue
			}
			n++
			var ev schemas.RawEvent
			if err := dec.Decode([]byte(line), &ev); err != nil {
				t.Errorf("%s: sample event does not decode: %v\n%s", f, err, line)
			}
		}
		if strings.Contains(string(b), "{\"event_id\": \"0b7c6f0e-...\"") {
			t.Errorf("%s has a multi-line sample event", f)
		}
	}
	if n < 2 {
		t.Fatalf("found %d one-line sample events; want one in README.md and one in docs/contract.md", n)
	}
}
