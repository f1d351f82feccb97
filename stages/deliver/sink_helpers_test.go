package deliver_test

import (
	"net/http/httptest"
	"testing"

	"github.com/leadflow/leadflow/stages/deliver/sink"
)

func newSinkServer(t testing.TB, s *sink.Sink) string {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL
}
