package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressBar draws a one-line progress bar on a terminal-ish writer,
// redrawing at most every 100ms.
type progressBar struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, start: time.Now()}
}

// Update redraws the bar for done out of total.
func (p *progressBar) Update(done, total int) {
	now := time.Now()
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %d/%d %s", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n),
		frac*100, done, total, now.Sub(p.start).Round(100*time.Millisecond))
	if done >= total {
		fmt.Fprintln(p.w)
	}
}
