package bench

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

// profile is a CPU profile of this process over a window. Its methods are
// safe for concurrent use; stop after a failed or missing start is a no-op.
type profile struct {
	mu  sync.Mutex
	f   *os.File
	err error
}

func (p *profile) start(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.Create(path)
	if err != nil {
		p.err = fmt.Errorf("bench: cpu profile: %w", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		p.err = fmt.Errorf("bench: cpu profile: %w", err)
		return
	}
	p.f = f
}

func (p *profile) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return p.err
	}
	pprof.StopCPUProfile()
	err := p.f.Close()
	p.f = nil
	return errors.Join(p.err, err)
}

// writeHeapProfile writes a heap profile of this process to path. The
// profile's in-use figures are those of the last completed GC cycle, which
// still count the previous cycle's garbage as live (its frees are not yet
// published): two cycles make them show what is live now.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: heap profile: %w", err)
	}
	runtime.GC()
	runtime.GC()
	err = pprof.Lookup("heap").WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bench: heap profile: %w", err)
	}
	return nil
}

// servePprof serves net/http/pprof on addr until stop is called.
func servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: --pprof %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}
