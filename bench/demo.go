package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/bench/adminapi"
	"github.com/leadflow/leadflow/bench/producer"
	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/topics"
)

// DemoWorkspace is the workspace `leadflow dev --demo` sets up.
const DemoWorkspace = "ws_demo"

// DemoOptions configure SetupDemo.
type DemoOptions struct {
	// AdminURL is the admin API's base URL, e.g. http://127.0.0.1:8080.
	// Required.
	AdminURL string
	// Token is the admin API's bearer token.
	Token string
	// Workspace is the workspace to set up. Default DemoWorkspace.
	Workspace string
	// ReceiverURL is the webhook URL (the built-in receiver). Required.
	ReceiverURL string
	// Secret signs the webhooks; the receiver verifies with it. Optional.
	Secret string
	// HTTPClient calls the API; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Demo is what SetupDemo created.
type Demo struct {
	Workspace, WebhookID, SegmentID, PersonaID string
	// Automations are the ids of the new_lead, new_session and
	// reveal_contacts automations.
	Automations []string
}

// DemoIndustries returns the industries of the demo segment (the guide's
// Netcontrol is Machinery, MDX Financial Services).
func DemoIndustries() []string {
	return []string{"Machinery", "Financial Services", "Software", "Information Technology & Services", "Manufacturing"}
}

// SetupDemo creates the demo workspace through the admin API: a webhook to
// ReceiverURL signed with Secret, a segment "Target industries"
// (DemoIndustries), a persona "Sales leaders" (VPs, directors and C-level
// in sales and executive departments, which fits the guide's John Doe at
// MDX), and three automations: new_lead on the segment → webhook,
// new_session for every session → webhook, and new_lead on the segment →
// reveal_contacts (at most 2 per company) → webhook.
func SetupDemo(ctx context.Context, o DemoOptions) (*Demo, error) {
	if o.AdminURL == "" || o.ReceiverURL == "" {
		return nil, errors.New("bench: SetupDemo needs AdminURL and ReceiverURL")
	}
	if o.Workspace == "" {
		o.Workspace = DemoWorkspace
	}
	api, err := adminapi.New(o.AdminURL, o.Token, o.HTTPClient)
	if err != nil {
		return nil, err
	}
	d := &Demo{Workspace: o.Workspace}
	ws := o.Workspace
	wrap := func(what string, err error) error { return fmt.Errorf("bench: demo %s: %w", what, err) }
	if d.WebhookID, err = api.CreateWebhook(ctx, ws, adminapi.Webhook{URL: o.ReceiverURL, Name: "Demo receiver", Secret: o.Secret}); err != nil {
		return nil, wrap("webhook", err)
	}
	seg := traffic.Rule{Trigger: schemas.EventNewLead, Industries: DemoIndustries()}
	if d.SegmentID, err = api.CreateSegment(ctx, ws, adminapi.Segment{Name: "Target industries", Filter: seg.Filter()}); err != nil {
		return nil, wrap("segment", err)
	}
	if d.PersonaID, err = api.CreatePersona(ctx, ws, adminapi.Persona{
		Name:        "Sales leaders",
		JobTitles:   []string{"VP", "Vice President", "Head of Sales", "Sales Director", "Chief Revenue Officer"},
		Seniorities: []string{"c_level", "vp", "director"},
		Departments: []string{"sales", "executive"},
		Countries:   []string{},
	}); err != nil {
		return nil, wrap("persona", err)
	}
	for _, a := range []adminapi.Automation{
		{Name: "New leads in target industries", Trigger: schemas.EventNewLead, SegmentID: d.SegmentID,
			Action: adminapi.Action{Type: adminapi.ActionWebhook, WebhookID: d.WebhookID}},
		{Name: "Every new session", Trigger: schemas.EventNewSession,
			Action: adminapi.Action{Type: adminapi.ActionWebhook, WebhookID: d.WebhookID}},
		{Name: "Reveal sales leaders of new leads", Trigger: schemas.EventNewLead, SegmentID: d.SegmentID,
			Action: adminapi.Action{Type: adminapi.ActionRevealContacts, PersonaID: d.PersonaID, RevealLimit: 2, WebhookIDs: []string{d.WebhookID}}},
	} {
		id, err := api.CreateAutomation(ctx, ws, a)
		if err != nil {
			return nil, wrap("automation "+a.Name, err)
		}
		d.Automations = append(d.Automations, id)
	}
	return d, nil
}

// TrafficOptions configure Trickle.
type TrafficOptions struct {
	// Kafka reaches the brokers (Brokers required; TLS/SASL as configured).
	Kafka pipeline.KafkaConfig
	// Topic is the raw-event topic. Default "leadflow.sessions.raw".
	Topic string
	// Workspaces are the workspace ids to send traffic for. Default
	// [DemoWorkspace].
	Workspaces []string
	// Rate is events/s. Default 10.
	Rate float64
	// DataDir is the sample data set; it must be the one the pipeline
	// enriches with. Default: `leadflow dev`'s.
	DataDir string
	// Seed selects the traffic. Default 0 (a seed like any other).
	Seed int64
	// MalformedShare is the share of bad events. Default 0.01; negative
	// means none.
	MalformedShare float64
	// OnStats, if set, is called every second with the producer's counters.
	OnStats func(producer.Stats)
}

// Trickle produces a steady trickle of realistic traffic (the guide's
// Netcontrol visit and an MDX visit first, then company visitors, ISP
// visitors, bots, returning visitors, sessions with pageviews and pings,
// and a few malformed events) into Kafka until ctx ends; then it returns
// nil. It is what `leadflow dev --demo` runs.
func Trickle(ctx context.Context, o TrafficOptions) error {
	if len(o.Kafka.Brokers) == 0 {
		return errors.New("bench: Trickle needs Kafka.Brokers")
	}
	if o.Topic == "" {
		o.Topic = topics.New("leadflow.").Raw
	}
	if len(o.Workspaces) == 0 {
		o.Workspaces = []string{DemoWorkspace}
	}
	if o.Rate <= 0 {
		o.Rate = 10
	}
	switch {
	case o.MalformedShare == 0:
		o.MalformedShare = 0.01
	case o.MalformedShare < 0:
		o.MalformedShare = 0
	}
	dir, err := resolveDataDir(ctx, o.DataDir)
	if err != nil {
		return err
	}
	data, err := traffic.LoadData(dir)
	if err != nil {
		return err
	}
	gen, err := traffic.New(traffic.Config{Seed: o.Seed, WorkspaceIDs: o.Workspaces, MalformedShare: o.MalformedShare,
		GuideFirst: true, ActiveSessions: int(min(max(o.Rate*2, 5), 10000))}, data)
	if err != nil {
		return err
	}
	kopts, err := o.Kafka.ClientOpts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(kopts, kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		return fmt.Errorf("bench: kafka client: %w", err)
	}
	defer cl.Close()
	p, err := producer.New(producer.Config{Client: cl, Topic: o.Topic, Rate: func(time.Duration) float64 { return o.Rate },
		Source: func(dst []byte, now time.Time) ([]byte, []byte) {
			v, ev := gen.Next(dst, now)
			return v, ev.Key
		}})
	if err != nil {
		return err
	}
	if o.OnStats != nil {
		done := make(chan struct{})
		var wg sync.WaitGroup
		defer func() { close(done); wg.Wait() }()
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					o.OnStats(p.Stats())
				}
			}
		}()
	}
	_, err = p.Run(ctx)
	return err
}
