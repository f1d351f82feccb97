// Package sampledata generates leadflow's deterministic sample data set
// (docs/contract.md, "Sample data"): an IP database in MaxMind DB format,
// company firmographics and contacts, always including the guide's two
// companies exactly as the guide shows them. `leadflow dev` uses the small
// default set (EnsureDefault), `leadflow datagen` any size, tests and
// benchmarks either.
//
// A set is a directory in the formats of schemas/dataset (dataset.IPDBFile,
// CompaniesFile, ContactsFile, NetworksFile and ManifestFile), which is also
// what production reads; this package only writes them. The same seed and
// size always give byte-identical files.
package sampledata

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
)

// Limits and defaults of Generate.
const (
	// DefaultSeed and DefaultCompanies describe the set EnsureDefault makes.
	DefaultSeed      = 1
	DefaultCompanies = 2000
	// MaxCompanies bounds Options.Companies: about 1.2 GB of output, and
	// within the generated address space (see allocator).
	MaxCompanies = 400_000
	// progressEvery is how many companies pass between Progress calls.
	progressEvery = 1000
)

// ErrOptions is wrapped by Generate's errors about invalid Options.
var ErrOptions = errors.New("sampledata: invalid options")

// Options configure Generate.
type Options struct {
	// Seed selects the data set; any value is valid (0 included).
	Seed int64
	// Companies is the number of generated companies besides the guide's
	// two, 0 to MaxCompanies. Zero gives only the fixed companies and
	// networks.
	Companies int
	// OutDir is the directory to write to; it is created if missing and
	// existing files of the set are overwritten. Required. Generate writes
	// in place: use Ensure or EnsureDefault for an all-or-nothing set.
	OutDir string
	// Progress, if set, is called from Generate's goroutine with the number
	// of companies done out of total (Companies + 2) every 1000 companies,
	// and with done == total once every file is complete. Optional.
	Progress func(done, total int)
}

func (o *Options) validate() error {
	switch {
	case o.OutDir == "":
		return fmt.Errorf("%w: OutDir is required", ErrOptions)
	case o.Companies < 0 || o.Companies > MaxCompanies:
		return fmt.Errorf("%w: Companies is %d, must be 0 to %d", ErrOptions, o.Companies, MaxCompanies)
	}
	return nil
}

// generator is the state of one Generate run.
type generator struct {
	rng     *rand.Rand
	v       *vocab
	domains map[string]struct{}
	alloc   allocator
	tree    *ipTree
	out     map[string]*outFile
	buf     []byte
	m       dataset.Manifest
}

// outFile is one buffered output file.
type outFile struct {
	f *os.File
	w *bufio.Writer
}

// pcgStream is the second PCG word; the seed is the first.
const pcgStream = 0x6c65_6164_666c_6f77 // "leadflow"

// Generate writes a sample data set to opts.OutDir (see the package doc and
// the *File constants). It is deterministic: the same Seed and Companies give
// byte-identical files. It checks ctx between companies; on any error the
// directory may hold a partial set without a manifest.
func Generate(ctx context.Context, opts Options) (err error) {
	if err := opts.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return fmt.Errorf("sampledata: %w", err)
	}
	tree, err := newIPTree(opts.Seed)
	if err != nil {
		return err
	}
	g := &generator{
		rng:     rand.New(rand.NewPCG(uint64(opts.Seed), pcgStream)),
		v:       newVocab(),
		domains: make(map[string]struct{}, opts.Companies+2),
		alloc:   newAllocator(),
		tree:    tree,
		out:     map[string]*outFile{},
		m:       dataset.Manifest{FormatVersion: dataset.FormatVersion, Seed: opts.Seed, Companies: opts.Companies},
	}
	defer func() {
		for _, o := range g.out {
			if o.f != nil {
				_ = o.f.Close() // only reached on error; the error already says why
			}
		}
	}()
	for _, name := range []string{dataset.CompaniesFile, dataset.ContactsFile, dataset.NetworksFile} {
		f, err := os.Create(filepath.Join(opts.OutDir, name))
		if err != nil {
			return fmt.Errorf("sampledata: %w", err)
		}
		g.out[name] = &outFile{f: f, w: bufio.NewWriterSize(f, 256<<10)}
	}

	total := opts.Companies + 2
	if err := g.writeFixed(); err != nil {
		return err
	}
	for i := range opts.Companies {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("sampledata: generating: %w", err)
			}
		}
		if err := g.writeGenerated(); err != nil {
			return err
		}
		if opts.Progress != nil && (i+3)%progressEvery == 0 && i+3 < total {
			opts.Progress(i+3, total)
		}
	}
	for _, name := range []string{dataset.CompaniesFile, dataset.ContactsFile, dataset.NetworksFile} {
		if err := g.closeFile(name); err != nil {
			return err
		}
	}
	if err := g.writeTree(filepath.Join(opts.OutDir, dataset.IPDBFile)); err != nil {
		return err
	}
	if err := g.writeManifest(opts.OutDir); err != nil {
		return err
	}
	if opts.Progress != nil {
		opts.Progress(total, total)
	}
	return nil
}

// writeFixed writes the guide's companies, contacts and networks, and the
// baseline non-business networks every set has.
func (g *generator) writeFixed() error {
	for _, c := range []schemas.Company{schemas.GuideNetcontrol(), schemas.GuideMDX()} {
		g.domains[c.Domain] = struct{}{}
		if err := g.writeCompany(&c); err != nil {
			return err
		}
	}
	for _, rec := range guideContacts() {
		if err := g.writeJSONLine(dataset.ContactsFile, &rec); err != nil {
			return err
		}
		g.m.Contacts++
	}
	for _, n := range fixedNetworks() {
		if err := g.addNetwork(n); err != nil {
			return err
		}
	}
	for _, typ := range []string{
		schemas.NetworkISP, schemas.NetworkISP, schemas.NetworkISP, schemas.NetworkISP,
		schemas.NetworkHosting, schemas.NetworkHosting, schemas.NetworkHosting,
		schemas.NetworkEducation, schemas.NetworkEducation,
	} {
		if err := g.addOtherNetwork(typ); err != nil {
			return err
		}
	}
	return nil
}

// writeGenerated generates one company with its contacts and networks, and
// now and then a non-business network.
func (g *generator) writeGenerated() error {
	gc := g.newCompany()
	if err := g.writeCompany(&gc.company); err != nil {
		return err
	}
	contacts := g.newContacts(&gc)
	for i := range contacts {
		if err := g.writeJSONLine(dataset.ContactsFile, &contacts[i]); err != nil {
			return err
		}
	}
	g.m.Contacts += len(contacts)
	if err := g.addCompanyNetworks(&gc); err != nil {
		return err
	}
	r := g.rng
	for _, other := range []struct {
		typ string
		p   float64
	}{{schemas.NetworkISP, 0.25}, {schemas.NetworkHosting, 0.08}, {schemas.NetworkEducation, 0.04}} {
		if chance(r, other.p) {
			if err := g.addOtherNetwork(other.typ); err != nil {
				return err
			}
		}
	}
	return nil
}

// addCompanyNetworks gives a company one to four /24s (more for bigger
// companies), and sometimes an IPv6 /48. Visitors geolocate to the
// headquarters city, or for extra networks another city of the country.
func (g *generator) addCompanyNetworks(gc *genCompany) error {
	r := g.rng
	n := 1
	switch {
	case gc.employees > 500:
		n = 2 + r.IntN(3)
	case gc.employees > 200:
		n = 2
	case gc.employees > 50:
		n = 1 + r.IntN(2)
	}
	for i := range n {
		cty := gc.city
		if i > 0 && chance(r, 0.5) {
			cty = &gc.country.cities[r.IntN(len(gc.country.cities))]
		}
		p, err := g.alloc.v4()
		if err != nil {
			return err
		}
		rec := dataset.NetworkRecord{Network: p, NetworkType: schemas.NetworkBusiness, CompanyDomain: gc.company.Domain}
		if err := g.addNetwork(network{rec, geoOf(gc.country, cty)}); err != nil {
			return err
		}
	}
	if chance(r, 0.1) {
		if p, ok := g.alloc.v6(); ok {
			rec := dataset.NetworkRecord{Network: p, NetworkType: schemas.NetworkBusiness, CompanyDomain: gc.company.Domain}
			return g.addNetwork(network{rec, geoOf(gc.country, gc.city)})
		}
	}
	return nil
}

// addOtherNetwork adds an ISP, hosting or education /24 (and for ISPs
// sometimes a /48) somewhere in the world.
func (g *generator) addOtherNetwork(typ string) error {
	r := g.rng
	ctry := &g.v.countries[pickWeighted(r, len(g.v.countries), func(i int) int { return g.v.countries[i].weight })]
	geo := geoOf(ctry, &ctry.cities[r.IntN(len(ctry.cities))])
	p, err := g.alloc.v4()
	if err != nil {
		return err
	}
	if err := g.addNetwork(network{dataset.NetworkRecord{Network: p, NetworkType: typ}, geo}); err != nil {
		return err
	}
	if typ == schemas.NetworkISP && chance(r, 0.3) {
		if p, ok := g.alloc.v6(); ok {
			return g.addNetwork(network{dataset.NetworkRecord{Network: p, NetworkType: typ}, geo})
		}
	}
	return nil
}

func geoOf(ctry *country, cty *city) dataset.IPGeo {
	return dataset.IPGeo{City: cty.name, CountryCode: ctry.code, Region: cty.state, Latitude: cty.lat, Longitude: cty.lon}
}

func (g *generator) addNetwork(n network) error {
	if err := g.tree.insert(n); err != nil {
		return err
	}
	g.m.Networks++
	return g.writeJSONLine(dataset.NetworksFile, &n.rec)
}

func (g *generator) writeCompany(c *schemas.Company) error {
	g.buf = append(c.AppendJSON(g.buf[:0]), '\n')
	g.m.TotalCompanies++
	if _, err := g.out[dataset.CompaniesFile].w.Write(g.buf); err != nil {
		return fmt.Errorf("sampledata: writing %s: %w", dataset.CompaniesFile, err)
	}
	return nil
}

func (g *generator) writeJSONLine(name string, v any) error {
	data, err := json.MarshalWithOption(v, json.DisableHTMLEscape())
	if err != nil {
		return fmt.Errorf("sampledata: encoding a %s line: %w", name, err)
	}
	w := g.out[name].w
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("sampledata: writing %s: %w", name, err)
	}
	if err := w.WriteByte('\n'); err != nil {
		return fmt.Errorf("sampledata: writing %s: %w", name, err)
	}
	return nil
}

// closeFile flushes and closes one output file.
func (g *generator) closeFile(name string) error {
	o := g.out[name]
	err := o.w.Flush()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	o.f = nil
	if err != nil {
		return fmt.Errorf("sampledata: writing %s: %w", name, err)
	}
	return nil
}

func (g *generator) writeTree(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("sampledata: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	_, err = g.tree.tree.WriteTo(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sampledata: writing %s: %w", dataset.IPDBFile, err)
	}
	return nil
}

// writeManifest records the files' sizes and writes ManifestFile last.
func (g *generator) writeManifest(dir string) error {
	for _, name := range []string{dataset.IPDBFile, dataset.CompaniesFile, dataset.ContactsFile, dataset.NetworksFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("sampledata: %w", err)
		}
		g.m.Files = append(g.m.Files, dataset.ManifestEntry{Name: name, Size: st.Size()})
	}
	data, err := json.MarshalIndent(g.m, "", "  ")
	if err != nil {
		return fmt.Errorf("sampledata: encoding the manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, dataset.ManifestFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("sampledata: %w", err)
	}
	return nil
}
