package system

import (
	"net/http"
	"net/http/pprof"
)

// pprofHandler serves Go's profiler under /debug/pprof/ (http.pprof): the
// index, the named profiles (heap, allocs, goroutine, ...), a CPU profile
// (/debug/pprof/profile?seconds=N) and an execution trace. The process
// mounts it behind the admin token (admin.RequireToken).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also the named profiles
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
