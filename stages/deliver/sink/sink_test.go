package sink_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/stages/deliver/sink"
)

func signed(t *testing.T, secret, body string, mutate func(http.Header)) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewBufferString(body))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	r.Header.Set("Signature", hex.EncodeToString(m.Sum(nil)))
	id, ts := "msg_1", strconv.FormatInt(time.Now().Unix(), 10)
	m = hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id + "." + ts + "." + body))
	r.Header.Set("webhook-id", id)
	r.Header.Set("webhook-timestamp", ts)
	r.Header.Set("webhook-signature", "v0,xxx v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	if mutate != nil {
		mutate(r.Header)
	}
	return r
}

func TestSinkVerifiesCountsAndCallsBack(t *testing.T) {
	var got []json.RawMessage
	s := sink.New(sink.Config{Secret: "k", Tolerance: time.Minute, Quiet: true,
		OnDelivery: func(_ string, subjects []json.RawMessage, _ http.Header, _ time.Time) { got = subjects }})
	body := `{"event":"new_lead","subjects":[{"id":1},{"id":2}]}`
	for name, c := range map[string]struct {
		mutate func(http.Header)
		want   int
	}{
		"good":             {nil, 200},
		"bad Signature":    {func(h http.Header) { h.Set("Signature", "00") }, 401},
		"no Signature":     {func(h http.Header) { h.Del("Signature") }, 401},
		"bad standard":     {func(h http.Header) { h.Set("webhook-signature", "v1,AAAA") }, 401},
		"stale timestamp":  {func(h http.Header) { h.Set("webhook-timestamp", "1000") }, 401},
		"tampered webhook": {func(h http.Header) { h.Set("webhook-id", "msg_2") }, 401},
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, signed(t, "k", body, c.mutate))
		if w.Code != c.want {
			t.Errorf("%s: status %d, want %d", name, w.Code, c.want)
		}
	}
	st := s.Stats()
	if st.Accepted != 1 || st.Rejected != 5 || st.Subjects != 2 || st.SubjectsByEvent["new_lead"] != 2 || len(got) != 2 {
		t.Errorf("stats %+v, callback got %d subjects", st, len(got))
	}
}

func TestSinkFailRateStatusAndDelay(t *testing.T) {
	s := sink.New(sink.Config{FailRate: 0.5, Seed: 7, Quiet: true})
	fails := 0
	for range 400 {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewBufferString(`{"event":"new_lead","subjects":[]}`)))
		if w.Code == 500 {
			fails++
		}
	}
	if fails < 150 || fails > 250 {
		t.Errorf("%d of 400 failed with fail rate 0.5", fails)
	}
	s = sink.New(sink.Config{Status: 503, Delay: 50 * time.Millisecond, Quiet: true})
	start := time.Now()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewBufferString(`{"event":"new_lead","subjects":[]}`)))
	if w.Code != 503 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("status %d after %s, want 503 after the delay", w.Code, time.Since(start))
	}
}

func TestVerifyFunctions(t *testing.T) {
	if err := sink.VerifySignature("k", []byte("b"), "zz"); err == nil {
		t.Error("bad hex accepted")
	}
	if err := sink.VerifyStandard("k", http.Header{}, []byte("b"), 0); err != sink.ErrNoSignature {
		t.Errorf("missing headers: %v", err)
	}
}
