package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws the progress bar: on a terminal one line redrawn in
// place twice a second, otherwise a line every 5 seconds. A nil writer
// draws nothing.
type progress struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	open bool // a line without a newline is on screen
	last time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// draw shows line, in place on a terminal.
func (p *progress) draw(line string, force bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.open = true
		return
	}
	if force || time.Since(p.last) >= 5*time.Second {
		fmt.Fprintln(p.w, line)
		p.last = time.Now()
	}
}

// endLine ends an in-place line.
func (p *progress) endLine() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

// printf prints a message on its own line.
func (p *progress) printf(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.endLine()
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

// setup shows the progress of setting up workspaces.
func (p *progress) setup(done, total int) {
	if total >= 20 || done == total {
		p.draw(fmt.Sprintf("setting up workspaces %s %d/%d", bar(float64(done)/float64(total), 20), done, total), false)
	}
}

// run redraws the bar for trial t until ctx ends.
func (p *progress) run(ctx context.Context, t *trial, label string, total time.Duration) {
	if p.w == nil {
		return
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		el := time.Since(t.start)
		ps := t.prod.Stats()
		c := t.chk.counts()
		t.mu.Lock()
		var p99, lag, inflight float64
		if n := len(t.samples); n > 0 {
			p99, lag, inflight = t.samples[n-1].P99Ms, t.samples[n-1].LagTotal, t.samples[n-1].InflightTotal
		}
		t.mu.Unlock()
		phase := phaseMeasure
		switch {
		case t.loadEnded.Load():
			phase = phaseDrain
		case el < t.h.o.Warmup:
			phase = phaseWarmup
		}
		rate := 0.0
		if ps.Elapsed > 0 {
			rate = float64(ps.Acked) / ps.Elapsed.Seconds()
		}
		var b strings.Builder
		if label != "" {
			b.WriteString(label + " ")
		}
		shown := min(el, total)
		fmt.Fprintf(&b, "%s %s/%s %-7s sent %s (%s/s)  webhooks %s (%s subjects)  p99 %s  lag %s  in flight %s",
			bar(float64(shown)/float64(total), 24), shown.Round(time.Second), total, phase,
			si(float64(ps.Acked)), si(rate), si(float64(c.requests)), si(float64(c.subjects)), fmtMs(p99), si(lag), si(inflight))
		if ps.Errors > 0 {
			fmt.Fprintf(&b, "  errors %d", ps.Errors)
		}
		p.draw(b.String(), false)
	}
}

// bar draws [=====>    ] for frac of width.
func bar(frac float64, width int) string {
	frac = math.Max(0, math.Min(1, frac))
	n := int(frac * float64(width))
	s := strings.Repeat("=", n)
	if n < width {
		s += ">" + strings.Repeat(" ", width-n-1)
	}
	return "[" + s + "]"
}

// si formats v with k/M suffixes.
func si(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a >= 1e3:
		return fmt.Sprintf("%.2fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// fmtMs formats milliseconds: "-" for 0, 850ms, 1.2s.
func fmtMs(ms float64) string {
	switch {
	case ms <= 0:
		return "-"
	case ms < 1000:
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.2fs", ms/1000)
}
