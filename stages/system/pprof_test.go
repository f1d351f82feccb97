package system_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/stages/system/systemtest"
)

// http.pprof serves Go's profiler behind the admin token (issue 17: a
// running `leadflow run` had no way to show where its CPU goes).
func TestPProfIsServedBehindTheAdminToken(t *testing.T) {
	sys, _ := systemtest.Start(t, "pprof", func(cfg *configs.Config) {
		cfg.HTTP.PProf = true
		cfg.Admin.Token = "pprof-token"
	})
	base := "http://" + sys.HTTPAddr().String()
	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get("/debug/pprof/", ""); code != http.StatusUnauthorized || !strings.Contains(body, "Bearer") {
		t.Fatalf("without the token: %d %s", code, body)
	}
	if code, _ := get("/debug/pprof/", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("with a wrong token: %d", code)
	}
	if code, body := get("/debug/pprof/", "pprof-token"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("index with the token: %d %.200s", code, body)
	}
	if code, body := get("/debug/pprof/heap?debug=1", "pprof-token"); code != http.StatusOK || !strings.Contains(body, "heap profile") {
		t.Fatalf("heap profile: %d %.200s", code, body)
	}
}

// Without http.pprof there is no profiler.
func TestPProfIsOffByDefault(t *testing.T) {
	sys, _ := systemtest.Start(t, "pprof-off", nil)
	res, err := http.Get("http://" + sys.HTTPAddr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /debug/pprof/ without http.pprof: %d, want 404", res.StatusCode)
	}
}
