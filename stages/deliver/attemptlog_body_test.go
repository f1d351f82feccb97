package deliver

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
)

// batchBody is a request body of n leads: the guide's, each with its
// own id, times and company name.
func batchBody(t *testing.T, n int) []byte {
	t.Helper()
	b := []byte(`{"event":"new_lead","subjects":[`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		lead := schemas.GuideNetcontrolLead()
		lead.ID = int64(1000 + i*7919)
		lead.FirstSeen = schemas.NewTimestamp(lead.FirstSeen.Add(time.Duration(i*7) * time.Minute))
		lead.LastSeen = schemas.NewTimestamp(lead.FirstSeen.Add(time.Duration(i) * time.Second))
		lead.Company.Name = fmt.Sprintf("%s %d", lead.Company.Name, i*31)
		j, err := json.Marshal(lead)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, j...)
	}
	return append(b, "]}"...)
}

// The attempt log keeps request bodies compressed (issue 17: they were
// most of a webhook's Redis bytes) and gives them back byte for byte;
// bodies stored before, as plain JSON, still read.
func TestAttemptLogStoresBodiesCompressed(t *testing.T) {
	rdb, _ := kafkatest.Redis(t)
	cfg := DefaultConfig()
	l := NewAttemptLogFor(rdb, kafkatest.Prefix(t), cfg)
	ctx := context.Background()
	body := batchBody(t, 100)
	a := Attempt{Time: time.Now(), Event: "new_lead", Subjects: 100, StatusCode: 200, Attempt: 1, MessageID: "msg_1", Outcome: OutcomeSuccess}
	if err := l.Record(ctx, "ws_1", "wh_1", a, &AttemptDetail{Attempt: a, BodyBytes: len(body), Body: body}); err != nil {
		t.Fatal(err)
	}
	key, field := l.key("ws_1", "wh_1")+":req", a.Key()+bodySuffix
	stored, err := rdb.HStrLen(ctx, key, field).Result()
	if err != nil {
		t.Fatal(err)
	}
	if stored*4 > int64(len(body)) {
		t.Fatalf("a %d-byte body is stored in %d bytes, want under a quarter", len(body), stored)
	}
	d, ok, err := l.Detail(ctx, "ws_1", "wh_1", a.Key())
	if err != nil || !ok || !bytes.Equal(d.Body, body) {
		t.Fatalf("detail: ok %t, %v, body equal %t", ok, err, bytes.Equal(d.Body, body))
	}
	t.Logf("body %d bytes, stored %d", len(body), stored)

	// As the previous version stored it: the JSON itself.
	if err := rdb.HSet(ctx, key, field, body).Err(); err != nil {
		t.Fatal(err)
	}
	if d, ok, err := l.Detail(ctx, "ws_1", "wh_1", a.Key()); err != nil || !ok || !bytes.Equal(d.Body, body) {
		t.Fatalf("plain stored body: ok %t, %v", ok, err)
	}
	// Small bodies are kept as they are.
	var c bodyCodec
	small := []byte(`{"event":"new_lead","subjects":[]}`)
	if got := c.pack(small); !bytes.Equal(got, small) {
		t.Fatalf("small body packed to %x", got)
	}
	if _, err := c.unpack(append(append([]byte{}, zstdMagic...), "junk"...)); err == nil {
		t.Fatal("a corrupt frame unpacked without error")
	}
}
