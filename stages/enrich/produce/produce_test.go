package produce_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/enrich"
	"github.com/leadflow/leadflow/stages/enrich/produce"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

func lines(t *testing.T, names ...string) string {
	t.Helper()
	var b strings.Builder
	for _, n := range names {
		l, ok := produce.SampleLine(n, time.Now())
		if !ok {
			t.Fatalf("no sample %q", n)
		}
		b.Write(l)
	}
	return b.String()
}

// Good lines are produced keyed by session_id and reported with their
// partition and offset; a bad line is reported with the decoder's message
// naming the field, and is not produced.
func TestRunProducesGoodLinesAndReportsBadOnes(t *testing.T) {
	env := topicstest.New(t, 2)
	input := lines(t, "netcontrol") + "\n" + // an empty line is skipped
		`{"event_id":"e2","workspace_id":"ws_1","session_id":"s_2","type":"pageview","ip":"not-an-ip","url":"https://a.example/","timestamp":"2024-05-15T10:55:50Z"}` + "\n" +
		"not json\n" + lines(t, "mdx")
	var got []produce.Line
	res, err := produce.Run(context.Background(), strings.NewReader(input), produce.Options{
		Client: env.Client, Topic: env.Topics.Raw, Decoder: enrich.DefaultConfig().Decoder(),
		Report: func(l produce.Line) { got = append(got, l) },
	})
	if !errors.Is(err, produce.ErrBadInput) {
		t.Fatalf("err = %v; want ErrBadInput", err)
	}
	if res != (produce.Result{Lines: 4, Acked: 2, Rejected: 2}) {
		t.Fatalf("result = %+v", res)
	}
	bad := map[int]string{}
	for _, l := range got {
		if l.Rejected {
			bad[l.N] = l.Err.Error()
		}
	}
	if !strings.Contains(bad[3], `"ip"`) || bad[4] == "" || len(bad) != 2 {
		t.Fatalf("rejected lines = %v; want line 3 naming ip and line 4", bad)
	}
	recs := env.Consume(t, env.Topics.Raw, 30*time.Second, func(r []*kgo.Record) bool { return len(r) >= 2 })
	keys := map[string]bool{}
	for _, r := range recs {
		keys[string(r.Key)] = true
		if _, err := schemas.DecodeRawEvent(r.Value, 0); err != nil {
			t.Errorf("produced record does not decode: %v", err)
		}
	}
	if !keys["s_9f1c"] || !keys["s_mdx1"] || len(recs) != 2 {
		t.Fatalf("produced %d records with keys %v; want the two samples keyed by session_id", len(recs), keys)
	}
}

// A line over max_event_bytes is rejected with the decoder's size error
// (naming the setting) without being kept in memory; with NoValidate
// every line is produced as is.
func TestRunTooLongLineAndNoValidate(t *testing.T) {
	env := topicstest.New(t, 1)
	dec := enrich.DefaultConfig().Decoder()
	dec.MaxBytes = 1024
	long := `{"event_id":"` + strings.Repeat("x", 200<<10) + `"}`
	var msg string
	res, _ := produce.Run(context.Background(), strings.NewReader(long+"\n"+lines(t, "isp")), produce.Options{
		Client: env.Client, Topic: env.Topics.Raw, Decoder: dec,
		Report: func(l produce.Line) {
			if l.Rejected {
				msg = l.Err.Error()
			}
		},
	})
	if res.Rejected != 1 || res.Acked != 1 || !strings.Contains(msg, "stages.enrich.max_event_bytes") || !errors.Is(schemas.TooLarge(1, 0), schemas.ErrTooLarge) {
		t.Fatalf("result %+v, message %q; want the long line rejected naming stages.enrich.max_event_bytes", res, msg)
	}
	res, err := produce.Run(context.Background(), strings.NewReader("not json\n"), produce.Options{
		Client: env.Client, Topic: env.Topics.Raw, Decoder: dec, NoValidate: true})
	if err != nil || res.Acked != 1 {
		t.Fatalf("NoValidate: %+v, %v; want the bad line produced", res, err)
	}
}

// Every sample decodes with the enrich decoder and gets a fresh event_id.
func TestSamplesDecode(t *testing.T) {
	for _, s := range produce.Samples() {
		a, _ := produce.SampleLine(s.Name, time.Unix(1, 0))
		b, _ := produce.SampleLine(s.Name, time.Unix(2, 0))
		ea, err := schemas.DecodeRawEvent(a[:len(a)-1], 0)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		eb, _ := schemas.DecodeRawEvent(b[:len(b)-1], 0)
		if ea.EventID == eb.EventID {
			t.Errorf("%s: event_id %q repeats", s.Name, ea.EventID)
		}
	}
}
