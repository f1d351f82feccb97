package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// dev --demo explains its counters, shows a view that adds up and the
// first payload of an event type, fits 80 columns, and prints a summary
// when stopped (Ctrl-C).
func TestDemoViewAndSummary(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- devCmd(ctx, []string{"--demo", "--rate", "50", "--kafka-addr", freeAddr(t), "--http-addr", freeAddr(t)}, &out, &bytes.Buffer{})
	}()
	kafkatest.Eventually(t, 90*time.Second, "a view with a payload", func() bool {
		s := out.String()
		return strings.Contains(s, " = hits ") && strings.Contains(s, "payload\n")
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dev --demo returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev --demo did not stop within 30s")
	}
	s := out.String()
	for _, want := range []string{"How to read the view", "hit      an event from a company's network", "dropped:", "Summary after", "webhook subjects received:"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, l := range strings.Split(s, "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	if t.Failed() {
		t.Log(s)
	}
}
