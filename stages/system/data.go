package system

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/schemas/sampledata"
)

// Data is the data set a process enriches with, loaded once at start.
type Data struct {
	// Files are the resolved paths.
	Files configs.DataConfig
	// Companies by domain; nil if no stage of the process needs them.
	Companies Companies
	// Contacts by company domain; nil if no stage of the process needs them.
	Contacts map[string][]dataset.ContactRecord
}

// Companies is the company directory: firmographics by domain.
type Companies map[string]schemas.Company

// Company returns the company of domain.
func (c Companies) Company(domain string) (schemas.Company, bool) {
	co, ok := c[domain]
	return co, ok
}

// DefaultCacheDir is where `leadflow dev` keeps its generated sample data:
// the user cache directory (e.g. ~/.cache/leadflow), or the temp dir.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "leadflow")
	}
	return filepath.Join(os.TempDir(), "leadflow-cache")
}

// loadData resolves and loads what the given stages need. In dev, an
// unset data set is the bundled sample, generated into cacheDir on first
// use.
func loadData(ctx context.Context, cfg configs.DataConfig, stages []string, dev bool, cacheDir string) (*Data, error) {
	needs := func(names ...string) bool {
		for _, s := range stages {
			for _, n := range names {
				if s == n {
					return true
				}
			}
		}
		return false
	}
	if cfg.Dir == "" && cfg.IPDatabase == "" && cfg.Companies == "" && cfg.Contacts == "" && dev {
		dir, err := sampledata.EnsureDefault(ctx, cacheDir)
		if err != nil {
			return nil, fmt.Errorf("sample data in %s: %w", cacheDir, err)
		}
		cfg.Dir = dir
	}
	d := &Data{Files: cfg.Resolved()}
	require := func(field, path string) error {
		if path == "" {
			return &pipeline.FieldError{Field: field, Reason: "is required by the stages of this process (or set data.dir)"}
		}
		if _, err := os.Stat(path); err != nil {
			return &pipeline.FieldError{Field: field, Reason: err.Error()}
		}
		return nil
	}
	if needs("enrich") {
		if err := require("data.ip_database", d.Files.IPDatabase); err != nil {
			return nil, err
		}
	}
	if needs("enrich", "leads", "evaluate") {
		if err := require("data.companies", d.Files.Companies); err != nil {
			return nil, err
		}
		m, err := dataset.LoadCompanies(d.Files.Companies)
		if err != nil {
			return nil, err
		}
		d.Companies = m
	}
	if needs("evaluate") {
		if err := require("data.contacts", d.Files.Contacts); err != nil {
			return nil, err
		}
		m, err := dataset.LoadContacts(d.Files.Contacts)
		if err != nil {
			return nil, err
		}
		d.Contacts = m
	}
	return d, nil
}
