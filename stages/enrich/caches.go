package enrich

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadflow/leadflow/pipeline/cache"
	"github.com/leadflow/leadflow/stages/enrich/useragent"
)

// Names of the stage's caches, the cache label of
// leadflow_cache_lookups_total and leadflow_cache_evictions_total.
const (
	cacheNameUserAgent = "enrich_user_agent"
	cacheNameIPRecord  = "enrich_ip_record"
	cacheNameCompany   = "enrich_company"
)

// caches are the stage's bounded caches (pipeline/cache) and the metrics
// of the IP database's decoded-record caches, which ipdb creates one per
// loaded file.
type caches struct {
	agents    *cache.Cache[string, useragent.Agent] // ua_cache_size
	sent      *cache.Cache[string, struct{}]        // company_cache_size
	ipRecords *cache.Metrics                        // ip_cache_size, in ipdb
	metrics   []*cache.Metrics
}

// newCaches creates the caches of cfg with metrics not yet registered.
func newCaches(cfg Config) (*caches, error) {
	c := &caches{}
	var errs []error
	metrics := func(name string) *cache.Metrics {
		m, err := cache.NewMetrics(nil, name)
		errs = append(errs, err)
		c.metrics = append(c.metrics, m)
		return m
	}
	c.ipRecords = metrics(cacheNameIPRecord)
	var err error
	c.agents, err = cache.New[string, useragent.Agent](cfg.UACacheSize, metrics(cacheNameUserAgent))
	errs = append(errs, err)
	c.sent, err = cache.New[string, struct{}](cfg.CompanyCacheSize, metrics(cacheNameCompany))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("enrich: %w", err)
	}
	return c, nil
}

// register adds the caches' metrics to reg (nil: none).
func (c *caches) register(reg prometheus.Registerer) error {
	for _, m := range c.metrics {
		if err := m.Register(reg); err != nil {
			return fmt.Errorf("enrich: %w", err)
		}
	}
	return nil
}
