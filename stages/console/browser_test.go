package console_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/stages/system"
	"github.com/leadflow/leadflow/stages/system/systemtest"
)

// EnvScreenshots names the folder the browser tests write their PNG
// screenshots to (go tool -modfile=tools/go.mod task screenshots sets it to docs/console).
// Unset: no screenshots are taken.
const EnvScreenshots = "LEADFLOW_SCREENSHOTS"

const (
	testToken  = "console-test-token"
	testSecret = "whsec-console-secret"
	testWS     = "ws_123" // the guide event's workspace
	// testPortalKey signs the portal links of the browser tests.
	testPortalKey = "console-test-portal-key-32-bytes-long"
)

// chromiumPath finds the browser, or fails the test saying how to
// install it: the browser tests never skip.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("the console's browser tests need Chromium: install it with `apt-get install -y chromium` (Debian/Ubuntu)")
	return ""
}

// startSystem runs every stage in this process as `leadflow dev` does, on
// kfake and miniredis, or on the real Kafka and Redis when the env names them.
func startSystem(t *testing.T) (*system.System, configs.Config) {
	t.Helper()
	return systemtest.Start(t, "console-test", func(cfg *configs.Config) {
		cfg.Admin.Token = testToken
		cfg.Admin.PortalKey = testPortalKey
		cfg.Stages.Deliver.Linger = 100 * time.Millisecond
		cfg.Stages.Deliver.AttemptLogBodyInterval = 0
		// A failing receiver's breaker opens within one request's attempts
		// (the first and its immediate retry), for the Endpoints page.
		cfg.Stages.Deliver.BreakerFailures = 2
	})
}

// hook is one webhook request as the receiver got it.
type hook struct {
	Event    string            `json:"event"`
	Subjects []json.RawMessage `json:"subjects"`
	id       string
	signed   bool // Signature verified with testSecret
	body     []byte
}

// receiver is a real HTTP endpoint that records every request and checks
// its Signature.
type receiver struct {
	mu    sync.Mutex
	hooks []hook
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var h hook
	if err := json.Unmarshal(body, &h); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write(body)
	h.signed = r.Header.Get("Signature") == hex.EncodeToString(m.Sum(nil))
	h.id, h.body = r.Header.Get("webhook-id"), body
	rc.mu.Lock()
	rc.hooks = append(rc.hooks, h)
	rc.mu.Unlock()
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// find returns the requests of event whose body contains text.
func (rc *receiver) find(event, text string) []hook {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []hook
	for _, h := range rc.hooks {
		if h.Event == event && strings.Contains(string(h.body), text) {
			out = append(out, h)
		}
	}
	return out
}

// browser drives one headless Chromium tab through the console.
type browser struct {
	t       *testing.T
	ctx     context.Context
	base    string
	shots   string // folder for screenshots, "" for none
	mu      sync.Mutex
	dialogs []string // alert dialogs seen (an escaping failure)
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx, base: base, shots: os.Getenv(EnvScreenshots)}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// Accept every dialog (the delete confirmations); an alert means a
	// script ran that should have been text.
	go func() {
		for e, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			if e.Type == page.DialogTypeAlert {
				b.mu.Lock()
				b.dialogs = append(b.dialogs, e.Message)
				b.mu.Unlock()
			}
			go func() {
				_ = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
					_, err := cdp.Call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
					return err
				}))
			}()
		}
	}()
	return b
}

// do runs steps with a timeout, failing the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (page %s)", what, err, b.location())
	}
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// eval evaluates a JavaScript expression.
func eval[T any](b *browser, expr string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v (page %s)", expr, err, b.location())
	}
	return v
}

// open loads path and waits for the page.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady("body"))
}

// openUntil reloads path until the JavaScript condition holds (30 s at most).
func (b *browser) openUntil(path, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.open(path)
		if eval[bool](b, cond) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: still not %s after 30s", path, cond)
		}
		time.Sleep(200 * time.Millisecond) // polling the page, not waiting for a result
	}
}

// navigating runs act (a click that submits a form or follows a link)
// and waits until the next page has loaded.
func (b *browser) navigating(what string, act chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	_ = eval[bool](b, `window.__stale = true`)
	b.do(what, act)
	b.waitJS(what+": next page", `typeof window.__stale === 'undefined' && document.readyState === 'complete'`)
}

// click clicks sel and waits for the page it leads to.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.navigating("click "+sel, chromedp.Click(sel, chromedp.NodeVisible))
}

// waitJS polls a JavaScript condition for up to 30 s.
func (b *browser) waitJS(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: still not %s after 30s (page %s; err %v)", what, cond, b.location(), err)
		}
		time.Sleep(100 * time.Millisecond) // polling the page, not waiting for a result
	}
}

// text is the text of the first element matching sel ("" if none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, sel))
}

// typeInto types v into the input sel (after clearing it), as a person would.
func (b *browser) typeInto(sel, v string) {
	b.t.Helper()
	b.do("focus "+sel, chromedp.WaitVisible(sel))
	_ = eval[bool](b, fmt.Sprintf(`(function(){var e=document.querySelector(%q); e.value=''; e.focus(); return true})()`, sel))
	b.do("type into "+sel, chromedp.SendKeys(sel, v, chromedp.NodeVisible))
}

// set sets a form control's value and fires its change event (selects,
// and the builder's inputs, which act on change).
func (b *browser) set(sel, v string) {
	b.t.Helper()
	ok := eval[bool](b, fmt.Sprintf(`(function(){var e=document.querySelector(%q); if(!e) return false; e.value=%q;
		e.dispatchEvent(new Event('input',{bubbles:true})); e.dispatchEvent(new Event('change',{bubbles:true})); return true})()`, sel, v))
	if !ok {
		b.t.Fatalf("no element %s on %s", sel, b.location())
	}
}

// shot saves a screenshot of the whole page as NAME.png, when screenshots
// are asked for.
func (b *browser) shot(name string) {
	b.t.Helper()
	if b.shots == "" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// phone switches the viewport to a 390-pixel-wide phone (true) or back to
// 1280x800.
func (b *browser) phone(on bool) {
	b.t.Helper()
	if on {
		b.do("phone viewport", chromedp.EmulateViewport(390, 844))
		return
	}
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 800))
}

// alerts returns the alert dialogs seen.
func (b *browser) alerts() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}
