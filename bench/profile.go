package bench

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
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
