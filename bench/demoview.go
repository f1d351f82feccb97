package bench

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadflow/leadflow/schemas"
)

// DemoWidth is the widest line the demo view prints: it fits an 80-column
// terminal.
const DemoWidth = 80

// DemoCounts are the counters the demo view shows, read from one process's
// metrics and its built-in receiver. Every raw event the enrich stage
// read (In) is in exactly one of Hits, Dropped, Bad or Waiting.
type DemoCounts struct {
	// Sent counts raw events Kafka acknowledged (the demo's traffic, as
	// the producer last reported it: up to a second behind).
	Sent uint64
	// In counts raw events the enrich stage read.
	In float64
	// Hits counts raw events the enrich stage turned into hits: a visit
	// from a company's network, on its way to the leads stage.
	Hits float64
	// Dropped counts raw events that make no lead, by reason (bot, isp,
	// hosting, education, unknown_ip, ...).
	Dropped map[string]float64
	// Bad counts malformed raw events, dead-lettered to leadflow.dlq.
	Bad float64
	// NewLeads, NewSessions and SessionUpdates are what the leads stage
	// made of the hits; Skipped are hits that changed nothing (duplicates).
	NewLeads, NewSessions, SessionUpdates, Skipped float64
	// Received counts subjects the receiver accepted, by event.
	Received map[string]int64
	// Failed counts webhook requests that failed and were retried or
	// dead-lettered.
	Failed float64
}

// Waiting is how many events the enrich stage read but has not finished.
func (c DemoCounts) Waiting() float64 {
	return max(c.In-c.Hits-c.Bad-sum(c.Dropped), 0)
}

func sum(m map[string]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}

// GatherDemoCounts reads the counters from g (a process's registry). sent
// and received come from the traffic producer and the receiver.
func GatherDemoCounts(g prometheus.Gatherer, sent uint64, received map[string]int64) DemoCounts {
	c := DemoCounts{Sent: sent, Dropped: map[string]float64{}, Received: received}
	mfs, err := g.Gather()
	if err != nil {
		return c
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue()
			label := map[string]string{}
			for _, l := range m.GetLabel() {
				label[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "leadflow_records_in_total":
				if label["stage"] == "enrich" {
					c.In += v
				}
			case "leadflow_enrich_hits_total":
				c.Hits += v
			case "leadflow_enrich_dropped_total":
				if v > 0 {
					c.Dropped[label["reason"]] += v
				}
			case "leadflow_dead_letters_total":
				if label["stage"] == "enrich" {
					c.Bad += v
				}
			case "leadflow_leads_changes_total":
				switch label["kind"] {
				case "new_lead":
					c.NewLeads += v
				case "new_session":
					c.NewSessions += v
				default:
					c.SessionUpdates += v
				}
			case "leadflow_leads_hits_skipped_total":
				c.Skipped += v
			case "leadflow_deliver_requests_total":
				switch label["outcome"] {
				case "retry", "dlq", "disabled":
					c.Failed += v
				}
			}
		}
	}
	return c
}

// WriteDemoLegend explains the view's words once, at the start.
func WriteDemoLegend(w io.Writer) {
	fmt.Fprint(w, `How to read the view (every 5 s):
  in       raw events the enrich stage read from leadflow.sessions.raw
           in = hits + dropped + bad + waiting (read, not finished yet)
  hit      an event from a company's network: it joins that company's lead
  dropped  no lead is made: bots, ISP/hosting/education networks, unknown IPs
  bad      malformed events, dead-lettered to leadflow.dlq with the reason
  leads    what the hits made: new leads (each with its first session),
           later sessions of known leads, updates (pageviews, pings)
  webhooks subjects the built-in receiver accepted, by event; new_lead only
           for leads in the segment "Target industries"
`)
}

// Write prints the view at now in lines of at most DemoWidth columns
// (long lists wrap).
func (c DemoCounts) Write(w io.Writer, now time.Time) {
	writeWrapped(w, fmt.Sprintf("%s in %.0f =", now.Format("15:04:05"), c.In), " +", fmt.Sprintf("hits %.0f", c.Hits),
		fmt.Sprintf("dropped %.0f", sum(c.Dropped)), fmt.Sprintf("bad %.0f", c.Bad), fmt.Sprintf("waiting %.0f", c.Waiting()))
	if len(c.Dropped) > 0 {
		var parts []string
		for _, r := range slices.Sorted(maps.Keys(c.Dropped)) {
			parts = append(parts, fmt.Sprintf("%s %.0f", r, c.Dropped[r]))
		}
		writeWrapped(w, "  dropped:", ",", parts...)
	}
	writeWrapped(w, "  leads:", ",", fmt.Sprintf("%.0f new", c.NewLeads), fmt.Sprintf("%.0f later sessions", c.NewSessions),
		fmt.Sprintf("%.0f updates", c.SessionUpdates), fmt.Sprintf("%.0f skipped", c.Skipped))
	writeWrapped(w, "  webhooks:", ",", fmt.Sprintf("new_lead %d", c.Received[schemas.EventNewLead]),
		fmt.Sprintf("new_session %d", c.Received[schemas.EventNewSession]),
		fmt.Sprintf("contact_revealed %d", c.Received[schemas.EventContactRevealed]), fmt.Sprintf("failed %.0f", c.Failed))
}

// writeWrapped prints head and items joined by sep and a space, wrapping
// before an item that would pass DemoWidth; continuation lines are
// indented four spaces.
func writeWrapped(w io.Writer, head, sep string, items ...string) {
	line := head
	for i, it := range items {
		if i < len(items)-1 {
			it += sep
		}
		if utf8.RuneCountInString(line)+1+utf8.RuneCountInString(it) > DemoWidth {
			fmt.Fprintln(w, line)
			line = "   "
		}
		line += " " + it
	}
	fmt.Fprintln(w, cut(line, DemoWidth))
}

// WriteSummary prints the totals when the demo stops (Ctrl-C).
func (c DemoCounts) WriteSummary(w io.Writer, elapsed time.Duration) {
	fmt.Fprintf(w, "\nSummary after %s:\n", elapsed.Round(time.Second))
	c.Write(w, time.Now())
	total := int64(0)
	for _, n := range c.Received {
		total += n
	}
	fmt.Fprintf(w, "  raw events sent (acknowledged by Kafka): %d\n  webhook subjects received: %d\n", c.Sent, total)
}

// DemoPayloadLines is how many lines of a payload the view prints.
const DemoPayloadLines = 30

// WriteDemoPayload prints the latest payload of one event type, pretty
// and cut to DemoPayloadLines lines of at most DemoWidth columns.
func WriteDemoPayload(w io.Writer, event string, pretty []byte, more string) {
	fmt.Fprintf(w, "latest %s payload\n  (%s):\n", event, more)
	lines := bytes.Split(pretty, []byte("\n"))
	for i, l := range lines {
		if i == DemoPayloadLines {
			fmt.Fprintf(w, "  ... %d more lines\n", len(lines)-i)
			break
		}
		fmt.Fprintln(w, cut("  "+string(l), DemoWidth))
	}
}

// cut shortens s to width columns (bytes: the view is ASCII but for
// payload values), ending with "…" when it was longer.
func cut(s string, width int) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	return string(r[:width-1]) + "…"
}
