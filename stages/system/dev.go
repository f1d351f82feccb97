package system

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"
)

// devSegmentBytes is the embedded broker's log.segment.bytes. kfake keeps
// a segment as one in-memory file grown by doubling, so the segment size is
// the size of its largest allocations: with 256 KiB the steady bench
// passed 75k events/s for a minute and 90k for 20 s (100k at times),
// where 4 MiB failed 75k and 90k (docs/performance.md). Smaller (32 KiB)
// was no better.
const devSegmentBytes = 256 << 10

// DevInfra is the embedded default of `leadflow dev`: an in-process Kafka
// broker (kfake) listening on a real address, so outside producers can
// write to it, and an in-process Redis (miniredis) unless a real one is given.
type DevInfra struct {
	// KafkaAddr is where the embedded broker listens.
	KafkaAddr string
	// RedisAddr is the embedded Redis, or the one given.
	RedisAddr string

	kafka *kfake.Cluster
	redis *miniredis.Miniredis

	stop     chan struct{} // closed by Close: stops expire and TrimConsumed
	loops    sync.WaitGroup
	trimming bool // TrimConsumed started
}

// StartDevInfra starts kfake listening on kafkaAddr (host:port; port 0
// picks a free one) and, if redisAddr is empty, miniredis on a free port.
func StartDevInfra(kafkaAddr, redisAddr string) (*DevInfra, error) {
	d := &DevInfra{RedisAddr: redisAddr, stop: make(chan struct{})}
	listen := func(network, _ string) (net.Listener, error) { return net.Listen(network, kafkaAddr) }
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(listen),
		// kfake keeps every segment in memory and applies retention
		// (topics.retention) a whole segment at a time, every
		// log.cleaner.backoff.ms (its default: an hour). Small segments
		// checked every second keep its memory bounded by the retention.
		kfake.BrokerConfigs(map[string]string{
			"log.segment.bytes":      strconv.Itoa(devSegmentBytes),
			"log.cleaner.backoff.ms": "1000",
		}))
	if err != nil {
		return nil, fmt.Errorf("embedded kafka on %s: %w (is something else listening there? pick another with --kafka-addr)", kafkaAddr, err)
	}
	d.kafka = c
	d.KafkaAddr = c.ListenAddrs()[0]
	if redisAddr == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			c.Close()
			return nil, fmt.Errorf("embedded redis: %w", err)
		}
		d.redis = mr
		d.RedisAddr = mr.Addr()
		d.loops.Add(1)
		go func() {
			defer d.loops.Done()
			d.expire()
		}()
	}
	return d, nil
}

// expireShare is the most of the time expire spends walking the keys.
const expireShare = 100 // 1/100: 1%

// expire makes the embedded Redis's TTLs elapse in real time until Close.
// miniredis counts TTLs down only when told to (FastForward), so without
// this nothing stored by `leadflow dev` ever expired: lead states,
// new_session claims, attempt logs and the deliver processes' status keys
// stayed for as long as the process ran. A pass walks (and sorts) every
// key under miniredis's lock, so passes are spaced to take at most 1% of
// the time: every second with a few thousand keys; with a million a pass
// took 0.95 s on a 2-vCPU machine (Redis commands wait that long), so
// passes come about every 95 s and a TTL ends up to that late.
func (d *DevInfra) expire() {
	last, wait := time.Now(), time.Second
	for {
		select {
		case <-d.stop:
			return
		case <-time.After(wait):
		}
		now := time.Now()
		d.redis.FastForward(now.Sub(last))
		last = now
		wait = max(time.Second, expireShare*time.Since(now))
	}
}

// Close stops what StartDevInfra started.
func (d *DevInfra) Close() {
	close(d.stop)
	d.loops.Wait()
	if d.redis != nil {
		d.redis.Close()
	}
	if d.kafka != nil {
		d.kafka.Close()
	}
}
