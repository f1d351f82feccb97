package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/bench/report"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// costProbe reads what /metrics does not say about the pipeline's cost:
// the CPU time and peak RSS of its process from /proc (when the bench
// knows its pid) and Redis used_memory (when it reaches its Redis).
type costProbe struct {
	// pid is the pipeline's process; 0 when unknown.
	pid int
	// procRoot is /proc (tests point it at a fake tree).
	procRoot string
	// rdb reads INFO memory; nil when the Redis is unknown.
	rdb *redis.Client
	// redisNote says why rdb is nil.
	redisNote string
}

// newCostProbe returns the probe of target mode for o: the pid is
// Options.LeadflowPID with External, this process otherwise; the Redis is
// redisAddr ("" for none; note says why).
func newCostProbe(o Options, redisAddr, note string) *costProbe {
	p := &costProbe{procRoot: "/proc", redisNote: note}
	switch {
	case !o.External:
		p.pid = os.Getpid()
	case o.LeadflowPID > 0:
		p.pid = o.LeadflowPID
	}
	if redisAddr != "" {
		p.rdb = redis.NewClient(&redis.Options{Addr: redisAddr, MaxRetries: 1, PoolSize: 2,
			DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	}
	return p
}

// close releases the Redis client.
func (p *costProbe) close() error {
	if p == nil || p.rdb == nil {
		return nil
	}
	return p.rdb.Close()
}

// cpuSeconds returns utime+stime of the pipeline process, in seconds.
func (p *costProbe) cpuSeconds() (float64, error) {
	if p == nil || p.pid == 0 {
		return 0, errors.New("bench: the pipeline's pid is unknown")
	}
	data, err := os.ReadFile(filepath.Join(p.procRoot, strconv.Itoa(p.pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("bench: reading the pipeline's CPU time: %w", err)
	}
	return parseProcStatCPU(string(data))
}

// parseProcStatCPU returns utime+stime (fields 14 and 15) of a
// /proc/PID/stat line, in seconds. The command (field 2) is in
// parentheses and may hold spaces, so fields are counted after its ")".
func parseProcStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("bench: /proc/PID/stat: no command field")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: /proc/PID/stat: %d fields after the command, want at least 13", len(f))
	}
	var ticks float64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc/PID/stat: %w", err)
		}
		ticks += float64(v)
	}
	return ticks / clockTicks, nil
}

// highWaterRSS returns VmHWM of the pipeline process, in bytes.
func (p *costProbe) highWaterRSS() (float64, error) {
	if p == nil || p.pid == 0 {
		return 0, errors.New("bench: the pipeline's pid is unknown")
	}
	f, err := os.Open(filepath.Join(p.procRoot, strconv.Itoa(p.pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("bench: reading the pipeline's peak RSS: %w", err)
	}
	defer func() { _ = f.Close() }()
	return parseStatusKB(bufio.NewScanner(f), "VmHWM:")
}

// parseStatusKB returns the value of the "NAME: N kB" line of
// /proc/PID/status, in bytes.
func parseStatusKB(sc *bufio.Scanner, name string) (float64, error) {
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name)
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc/PID/status %s %w", name, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("bench: /proc/PID/status: %w", err)
	}
	return 0, fmt.Errorf("bench: /proc/PID/status has no %s line", name)
}

// redisUsedMemory returns the Redis used_memory, in bytes.
func (p *costProbe) redisUsedMemory(ctx context.Context) (int64, error) {
	if p == nil || p.rdb == nil {
		return 0, errors.New("bench: no Redis to measure")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := p.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("bench: redis INFO memory: %w", err)
	}
	return parseUsedMemory(info)
}

// parseUsedMemory returns the used_memory field of an INFO reply.
func parseUsedMemory(info string) (int64, error) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("bench: redis used_memory %q: %w", v, err)
			}
			return n, nil
		}
	}
	return 0, errors.New("bench: redis INFO memory has no used_memory")
}

// cpuWindow is the CPU time and raw events of the measured window.
type cpuWindow struct {
	// procFrom and procTo are /proc readings (NaN-free: ok says both
	// were read).
	procFrom, procTo float64
	procOK           bool
	// metricsSecs is process_cpu_seconds_total over the window; metricsOK
	// says both ends were scraped.
	metricsSecs float64
	metricsOK   bool
	// allocBytes is go_memstats_alloc_bytes_total over the window (valid
	// with metricsOK).
	allocBytes float64
	// events is the raw events acked over the window.
	events uint64
}

// cpuPerEvent fills c's CPU figures from w: the /proc reading when there
// is one (it counts only the pipeline's process), else /metrics.
func cpuPerEvent(c *report.Cost, w cpuWindow) {
	c.Events = w.events
	var secs float64
	switch {
	case w.procOK:
		secs, c.CPUSource = w.procTo-w.procFrom, "proc"
	case w.metricsOK:
		secs, c.CPUSource = w.metricsSecs, "metrics"
	default:
		return
	}
	if w.events > 0 && secs >= 0 {
		c.CPUMicrosPerEvent = secs / float64(w.events) * 1e6
	}
	if w.metricsOK && w.events > 0 && w.allocBytes > 0 {
		c.AllocBytesPerEvent = w.allocBytes / float64(w.events)
	}
}

// redisPerLead fills c's Redis figures from used_memory before and after
// and the leads and sessions created.
func redisPerLead(c *report.Cost, before, after int64, leads, sessions int) {
	c.RedisUsedBefore, c.RedisUsedAfter, c.Leads, c.Sessions = before, after, leads, sessions
	grew := float64(after - before)
	if leads > 0 {
		c.RedisBytesPerLead = grew / float64(leads)
	}
	if sessions > 0 {
		c.RedisBytesPerSession = grew / float64(sessions)
	}
}

// redisTarget returns the Redis address the probe reads for o (cfgAddr is
// the configuration's redis.addr) and, when there is none, why.
func redisTarget(o Options, cfgAddr string, embedded bool) (addr, note string) {
	switch {
	case o.RedisAddr != "":
		return o.RedisAddr, ""
	case embedded:
		return "", "not measured: the embedded miniredis has no used_memory"
	case !o.External:
		return "", "not measured: the in-process pipeline runs on an embedded miniredis (give --redis-addr)"
	case cfgAddr != "":
		return cfgAddr, ""
	}
	return "", "not measured: give --redis-addr (the external pipeline's Redis) or a --config with redis.addr"
}
