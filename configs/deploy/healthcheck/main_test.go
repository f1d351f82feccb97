package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(http.StatusOK)
		case "/slow":
			time.Sleep(200 * time.Millisecond) // longer than the probe's timeout below
		default:
			http.Error(w, "stage leads: redis: connection refused", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	if err := probe(srv.URL+"/readyz", time.Second); err != nil {
		t.Fatalf("ready server: %v", err)
	}
	err := probe(srv.URL+"/notready", time.Second)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "redis: connection refused") {
		t.Fatalf("503 answer: got %v, want an error with the status and the reason", err)
	}
	if err := probe(srv.URL+"/slow", 50*time.Millisecond); err == nil {
		t.Fatal("slow server: got nil, want a timeout error")
	}
	if err := probe("http://127.0.0.1:1/readyz", time.Second); err == nil {
		t.Fatal("nothing listening: got nil, want an error")
	}
}
