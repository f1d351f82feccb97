package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/topics/topicstest"
)

// secrets reseal re-encrypts a secret sealed with the previous key under
// the current one, says how many, rewrites none the second time, and the
// old key is no longer needed after it.
func TestSecretsReseal(t *testing.T) {
	env := topicstest.New(t, 1)
	keyA, keyB := bytes.Repeat([]byte{0xA1}, 32), bytes.Repeat([]byte{0xB2}, 32)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := func(opts ...control.Opt) *control.Store {
		s, err := control.New(env.Kafka, env.Topics.Control, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := open(control.WithSecretKey(keyA))
	w := control.Webhook{ID: "wh_1", WorkspaceID: "ws_1", URL: "https://example.com/h", Name: "h",
		Secret: control.NewSecret("s3cret"), MaxSubjects: 10, Enabled: true}
	if err := old.Put(ctx, w); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LEADFLOW_TOPICS_PREFIX", strings.TrimSuffix(env.Topics.Control, "control"))
	t.Setenv("LEADFLOW_SECRET_KEY", base64.StdEncoding.EncodeToString(keyB))
	t.Setenv("LEADFLOW_SECRET_KEY_PREVIOUS", base64.StdEncoding.EncodeToString(keyA))
	args := []string{"secrets", "reseal", "--brokers", strings.Join(env.Brokers, ",")}
	for i, want := range []string{"resealed 1 of 1 webhooks", "resealed 0 of 1 webhooks"} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 0 || !strings.Contains(out.String(), want) {
			t.Fatalf("run %d: code %d, stdout %q, stderr %q; want %q", i+1, code, out.String(), errOut.String(), want)
		}
	}
	if got, _ := open(control.WithSecretKey(keyB)).Webhook("ws_1", "wh_1"); got.Secret.Reveal() != "s3cret" {
		t.Fatal("the secret does not open with the new key alone after reseal")
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"secrets"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "Usage: leadflow secrets reseal") {
		t.Fatalf("secrets without a subcommand: code %d, %q", code, errOut.String())
	}
}
