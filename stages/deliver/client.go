package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sender makes webhook requests: one shared HTTP transport (connection
// pools per host), redirects never followed, the non-public address rule
// checked at connect time, response bodies read up to MaxResponseBytes.
// It is safe for concurrent use.
type sender struct {
	client    *http.Client
	userAgent string
	timeout   time.Duration
	now       func() time.Time // the stage's clock (Deps.Now)
	macs      macPool
	discard   sync.Pool // *[]byte scratch for reading response bodies
}

func newSender(cfg Config, version string, now func() time.Time) *sender {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivateNetworks {
		dialer.Control = dialControl
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy would be dialled instead of the endpoint and defeat the address rule
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   max(cfg.MaxInFlight*2, cfg.MaxInFlightCap, 8),
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true, // no Accept-Encoding: the headers are exactly DESIGN 1.3's
	}
	return &sender{
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		userAgent: "leadflow/" + version,
		timeout:   cfg.Timeout,
		now:       now,
		discard:   sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }},
	}
}

func (s *sender) close() { s.client.CloseIdleConnections() }

// result is what one attempt came to.
type result struct {
	status     int           // 0 when there was no response
	latency    time.Duration // from send to the end of the response read
	err        error         // transport error, timeout or refused address
	retryAfter time.Duration // parsed Retry-After, when the answer had one
	hasRA      bool
	snippet    string // the start of the response body (MaxLoggedResponseBytes), for the attempt log
	sentAt     time.Time
	header     http.Header // the request's headers as sent, for the attempt log
}

// send POSTs body to u, signed with secret (and previous, during a
// rotation), and reads the answer. The start of the answer's body is kept
// (result.snippet) for a non-2xx answer, and for any answer when keepAnswer
// is set (the attempt log keeps it).
func (s *sender) send(ctx context.Context, u *url.URL, secret, previous, msgID string, body []byte, keepAnswer bool) result {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	now := s.now()
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, 6),
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Host:          u.Host,
	}).WithContext(ctx)
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	setHeaders(req.Header, &s.macs, s.userAgent, secret, previous, msgID, now.Unix(), body)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return result{err: err, latency: time.Since(start), sentAt: now, header: req.Header}
	}
	r := result{status: resp.StatusCode, sentAt: now, header: req.Header}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		r.retryAfter, r.hasRA = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	bp := s.discard.Get().(*[]byte)
	buf := *bp
	n, _ := io.ReadFull(io.LimitReader(resp.Body, int64(len(buf))), buf)
	if n > 0 && (keepAnswer || resp.StatusCode/100 != 2) {
		r.snippet = strings.ToValidUTF8(string(buf[:min(n, MaxLoggedResponseBytes)]), "?")
	}
	if n == len(buf) {
		rest := io.LimitReader(resp.Body, MaxResponseBytes-int64(len(buf)))
		for {
			if _, err := rest.Read(buf); err != nil {
				break
			}
		}
	}
	s.discard.Put(bp)
	_ = resp.Body.Close()
	r.latency = time.Since(start)
	return r
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, 1<<32)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// verdict is what the stage does after an attempt.
type verdict int

const (
	// vSuccess: 2xx. The subjects are delivered.
	vSuccess verdict = iota
	// vRetry: a failed attempt. It uses up one attempt of the schedule and
	// counts towards the circuit breaker.
	vRetry
	// vBackoff: 429 or 503 with a Retry-After: the endpoint asked us to
	// slow down. It is backpressure, not a failure (convoy's rule): no
	// attempt is used and the breaker does not count it; the endpoint is
	// paused for the Retry-After (capped at retry_after_max).
	vBackoff
	// vDisable: 410 Gone. The endpoint is disabled; its requests are
	// dead-lettered (replayable once it is enabled again).
	vDisable
	// vRefused: the URL resolved to a non-public address. Retrying cannot
	// help until the webhook changes, so the request is dead-lettered.
	vRefused
	// vAbandoned: the stage is stopping and canceled the attempt. Not the
	// endpoint's fault: no attempt is used.
	vAbandoned
)

// classify is the one place that decides what an attempt's result means.
func classify(r result, stopping bool, retryAfterMax time.Duration) verdict {
	switch {
	case r.err != nil && errors.Is(r.err, ErrPrivateAddress):
		return vRefused
	case r.err != nil && stopping && errors.Is(r.err, context.Canceled):
		return vAbandoned
	case r.err != nil:
		// Timeout, connection refused or reset, TLS failure, DNS failure:
		// all may pass, so they are retried.
		return vRetry
	case r.status >= 200 && r.status < 300:
		return vSuccess
	case r.status == http.StatusGone:
		return vDisable
	case (r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable) && r.hasRA && r.retryAfter <= retryAfterMax:
		return vBackoff
	default:
		// 3xx (redirects are not followed), other 4xx, 5xx, and 429/503
		// without a usable Retry-After.
		return vRetry
	}
}

// describe is the attempt's error text for the attempt log and headers.
func (r result) describe() string {
	switch {
	case r.err != nil:
		var ue *url.Error
		if errors.As(r.err, &ue) {
			if ue.Timeout() {
				return "timeout: " + ue.Err.Error()
			}
			return ue.Err.Error()
		}
		return r.err.Error()
	case r.status >= 200 && r.status < 300:
		return ""
	case r.snippet != "":
		return fmt.Sprintf("HTTP %d: %s", r.status, truncateUTF8(r.snippet, 200))
	default:
		return fmt.Sprintf("HTTP %d", r.status)
	}
}
