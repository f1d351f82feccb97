package bench

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/bench/adminapi"
	"github.com/leadflow/leadflow/bench/producer"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

func TestSetupDemo(t *testing.T) {
	env := topicstest.New(t, 1)
	fake := newFakePipeline(t, testData(t), env.Brokers, env.Topics.Raw)
	d, err := SetupDemo(context.Background(), DemoOptions{AdminURL: fake.srv.URL, Token: fake.token, ReceiverURL: "http://127.0.0.1:9/hook", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if d.Workspace != DemoWorkspace || len(d.Automations) != 3 || len(fake.automations[DemoWorkspace]) != 3 {
		t.Fatalf("demo %+v, automations %+v", d, fake.automations)
	}
	if wh := fake.webhooks[d.WebhookID]; wh.URL != "http://127.0.0.1:9/hook" || wh.Secret != "s" {
		t.Fatalf("webhook %+v", wh)
	}
	triggers := map[string]int{}
	var reveal adminapi.Automation
	for _, a := range fake.automations[DemoWorkspace] {
		triggers[a.Trigger]++
		if a.Action.Type == adminapi.ActionRevealContacts {
			reveal = a
		}
	}
	if triggers[schemas.EventNewLead] != 2 || triggers[schemas.EventNewSession] != 1 {
		t.Fatalf("triggers %v", triggers)
	}
	if reveal.Action.PersonaID != d.PersonaID || len(reveal.Action.WebhookIDs) != 1 || reveal.Action.RevealLimit != 2 {
		t.Fatalf("reveal automation %+v", reveal)
	}
	// The persona fits the guide's John Doe (VP, Sales at MDX).
	p := fake.personas[d.PersonaID]
	fits := false
	for _, s := range p.Seniorities {
		fits = fits || s == "vp"
	}
	if !fits {
		t.Fatalf("persona %+v does not fit John Doe", p)
	}
	if _, err := SetupDemo(context.Background(), DemoOptions{AdminURL: fake.srv.URL}); err == nil {
		t.Fatal("no receiver URL accepted")
	}
}

func TestTrickle(t *testing.T) {
	env := topicstest.New(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var last producer.Stats
	err := Trickle(ctx, TrafficOptions{Kafka: pipeline.KafkaConfig{Brokers: env.Brokers}, Topic: env.Topics.Raw, Rate: 40,
		DataDir: testDataDir(t), OnStats: func(s producer.Stats) { last = s }})
	if err != nil {
		t.Fatal(err)
	}
	if last.Acked == 0 {
		t.Fatal("OnStats never saw an acknowledged event")
	}
	recs := env.Consume(t, env.Topics.Raw, 10*time.Second, func(r []*kgo.Record) bool { return len(r) >= 20 })
	first, err := schemas.DecodeRawEvent(recs[0].Value, 0)
	if err != nil {
		t.Fatal(err)
	}
	guide := schemas.GuideNetcontrolEvent()
	if first.WorkspaceID != DemoWorkspace || first.IP != guide.IP || first.URL != guide.URL || string(recs[0].Key) != first.SessionID {
		t.Fatalf("first demo event is not the guide's visit: %+v", first)
	}
}
