package filter

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the generated filter tables of docs/contract.md")

// contractDoc is the user-facing contract, whose filter section lists every
// field and operator.
var contractDoc = filepath.Join("..", "..", "..", "docs", "contract.md")

const (
	docBegin = "<!-- filter tables: generated from stages/evaluate/filter by TestContractDocListsEveryFieldAndOperator; do not edit -->\n"
	docEnd   = "<!-- end of filter tables -->\n"
)

// docTables renders every field and operator of the compiler's tables as
// markdown.
func docTables() string {
	var b strings.Builder
	b.WriteString("| field | type | notes |\n|---|---|---|\n")
	for _, f := range Fields() {
		var notes []string
		if f.Many {
			notes = append(notes, "any pageview of the session")
		}
		if f.Nullable {
			notes = append(notes, "may be missing")
		}
		notes = append(notes, f.Doc)
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", f.Name, f.Type, strings.ReplaceAll(strings.Join(notes, "; "), "|", "\\|"))
	}
	b.WriteString("\n| operator | field types | value | meaning |\n|---|---|---|---|\n")
	for _, o := range Operators() {
		types := make([]string, len(o.Types))
		for i, t := range o.Types {
			types[i] = string(t)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", o.Name, strings.Join(types, ", "),
			strings.ReplaceAll(o.Value, "|", "\\|"), strings.ReplaceAll(o.Doc, "|", "\\|"))
	}
	return b.String()
}

// The contract lists exactly the compiler's fields and operators: adding a
// field or operator to the compiler without documenting it fails here.
// Regenerate with: go test ./stages/evaluate/filter -run ContractDoc -update-doc
func TestContractDocListsEveryFieldAndOperator(t *testing.T) {
	doc, err := os.ReadFile(contractDoc)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(docBegin)), bytes.Index(doc, []byte(docEnd))
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q and %q", contractDoc, docBegin, docEnd)
	}
	want := docTables()
	if got := string(doc[i+len(docBegin) : j]); got != want {
		if *updateDoc {
			out := append(append(append([]byte{}, doc[:i+len(docBegin)]...), want...), doc[j:]...)
			if err := os.WriteFile(contractDoc, out, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("the filter tables of %s differ from the compiler's fields and operators; run\n"+
			"  go test ./stages/evaluate/filter -run ContractDoc -update-doc\nwant:\n%s", contractDoc, want)
	}
	for _, f := range Fields() {
		if !strings.Contains(want, "| `"+f.Name+"` |") {
			t.Errorf("field %s missing", f.Name)
		}
	}
}
