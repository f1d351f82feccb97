package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/leadflow/leadflow/stages/deliver/sink"
)

func sinkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9000", "address to receive webhooks on")
	secret := fs.String("secret", "", "webhook secret: Signature and webhook-signature are verified (401 if wrong); empty accepts unsigned requests")
	quiet := fs.Bool("quiet", false, "count only; do not print a line per request")
	verbose := fs.Bool("verbose", false, "also print each request's headers, whether each signature verified, and its body pretty-printed (the secret is never printed)")
	delay := fs.Duration("delay", 0, "answer every request after this long (a slow endpoint)")
	failRate := fs.Float64("fail-rate", 0, "answer this share of requests with 500 (0 to 1)")
	status := fs.Int("status", 0, "answer every request with this status (e.g. 410, 503); 0 = 200")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *failRate < 0 || *failRate > 1 {
		return fmt.Errorf("--fail-rate %g: must be between 0 and 1", *failRate)
	}
	if *quiet && *verbose {
		return errors.New("--quiet and --verbose: give one of them")
	}
	s := sink.New(sink.Config{Secret: *secret, Quiet: *quiet, Verbose: *verbose, Delay: *delay, FailRate: *failRate, Status: *status, Out: stdout})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "leadflow sink: receiving on http://%s (signatures %s); Ctrl-C prints the totals\n", ln.Addr(), map[bool]string{true: "verified", false: "not checked"}[*secret != ""])
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-done:
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	st := s.Stats()
	fmt.Fprintf(stdout, "\n%d requests (%d accepted, %d failed on purpose, %d rejected), %d subjects in %s: %.1f requests/s, %.1f subjects/s\n",
		st.Requests, st.Accepted, st.Failed, st.Rejected, st.Subjects, st.Elapsed.Round(time.Millisecond), st.RequestsPerSec, st.SubjectsPerSec)
	events := make([]string, 0, len(st.SubjectsByEvent))
	for e := range st.SubjectsByEvent {
		events = append(events, e)
	}
	sort.Strings(events)
	for _, e := range events {
		fmt.Fprintf(stdout, "  %-18s %d subjects\n", e, st.SubjectsByEvent[e])
	}
	return nil
}
