package sampledata_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/schemas/sampledata"
)

// generated returns a directory with a small set, generated once per test
// binary run for the read-only tests.
var generated = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sampledata-test-*")
	if err != nil {
		return "", err
	}
	return dir, sampledata.Generate(context.Background(), sampledata.Options{Seed: 1, Companies: 500, OutDir: dir})
})

func testSet(t *testing.T) string {
	t.Helper()
	dir, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := generated(); err == nil && dir != "" {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

func TestGenerateIsDeterministic(t *testing.T) {
	ctx := context.Background()
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := sampledata.Generate(ctx, sampledata.Options{Seed: 42, Companies: 300, OutDir: dir}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sampledata.Generate(ctx, sampledata.Options{Seed: 43, Companies: 300, OutDir: c}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{dataset.IPDBFile, dataset.CompaniesFile, dataset.ContactsFile,
		dataset.NetworksFile, dataset.ManifestFile} {
		da, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		db, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
		if name == dataset.CompaniesFile {
			dc, _ := os.ReadFile(filepath.Join(c, name))
			if bytes.Equal(da, dc) {
				t.Errorf("%s is the same for seeds 42 and 43", name)
			}
		}
	}
}

func TestIPDatabaseFixedNetworks(t *testing.T) {
	dir := testSet(t)
	db, err := maxminddb.Open(filepath.Join(dir, dataset.IPDBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Metadata.DatabaseType != dataset.DatabaseType || db.Metadata.IPVersion != 6 {
		t.Errorf("metadata = %+v", db.Metadata)
	}
	guide := schemas.GuideNetcontrolVisitorLocation()
	lahti := dataset.IPGeo{City: "Lahti", CountryCode: "FI", Region: "Etela-Pohjanmaa", Latitude: 63.216671, Longitude: 22.85}
	london := dataset.IPGeo{City: "London", CountryCode: "GB", Region: "England", Latitude: 51.5072, Longitude: -0.1276}
	for _, tc := range []struct {
		ip     string
		want   dataset.IPRecord
		prefix string
	}{
		{"198.51.100.23", dataset.IPRecord{NetworkType: "business", CompanyDomain: "netcontrol.com", Geo: lahti}, "198.51.100.0/24"},
		{"198.51.100.255", dataset.IPRecord{NetworkType: "business", CompanyDomain: "netcontrol.com", Geo: lahti}, "198.51.100.0/24"},
		{"203.0.113.9", dataset.IPRecord{NetworkType: "business", CompanyDomain: "mdxtechnology.com", Geo: london}, "203.0.113.0/24"},
		{"192.0.2.1", dataset.IPRecord{NetworkType: "isp", Geo: dataset.IPGeo{City: "Amsterdam", CountryCode: "NL",
			Region: "Noord-Holland", Latitude: 52.3676, Longitude: 4.9041}}, "192.0.2.0/24"},
		{"2001:db8::17", dataset.IPRecord{NetworkType: "business", CompanyDomain: "netcontrol.com", Geo: lahti}, "2001:db8::/48"},
		{"2001:db8:1:2::3", dataset.IPRecord{NetworkType: "business", CompanyDomain: "mdxtechnology.com", Geo: london}, "2001:db8:1::/48"},
	} {
		res := db.Lookup(netip.MustParseAddr(tc.ip))
		var got dataset.IPRecord
		if err := res.Decode(&got); err != nil {
			t.Fatalf("%s: %v", tc.ip, err)
		}
		if !res.Found() || got != tc.want {
			t.Errorf("%s: found %v, record %+v, want %+v", tc.ip, res.Found(), got, tc.want)
		}
		if res.Prefix().String() != tc.prefix {
			t.Errorf("%s: prefix %s, want %s", tc.ip, res.Prefix(), tc.prefix)
		}
	}
	loc := lahti.Location()
	if got, want := loc.AppendJSON(nil), guide.AppendJSON(nil); !bytes.Equal(got, want) {
		t.Errorf("Netcontrol visitor location %s, guide %s", got, want)
	}
	for _, ip := range []string{"8.8.8.8", "198.51.101.1", "2606:4700::1", "10.0.0.1"} {
		if db.Lookup(netip.MustParseAddr(ip)).Found() {
			t.Errorf("%s is in the sample database", ip)
		}
	}
}

func TestNetworksFileMatchesIPDatabase(t *testing.T) {
	dir := testSet(t)
	nets, err := dataset.LoadNetworks(filepath.Join(dir, dataset.NetworksFile))
	if err != nil {
		t.Fatal(err)
	}
	companies, err := dataset.LoadCompanies(filepath.Join(dir, dataset.CompaniesFile))
	if err != nil {
		t.Fatal(err)
	}
	db, err := maxminddb.Open(filepath.Join(dir, dataset.IPDBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	types := map[string]int{}
	var v6 int
	for i, n := range nets {
		types[n.NetworkType]++
		if n.Network.Addr().Is6() {
			v6++
		}
		if n.NetworkType == schemas.NetworkBusiness {
			if _, ok := companies[n.CompanyDomain]; !ok {
				t.Fatalf("network %s names unknown company %q", n.Network, n.CompanyDomain)
			}
		}
		for _, k := range []uint64{0, uint64(i), 1 << 40} {
			addr := n.HostAddr(k)
			if !n.Network.Contains(addr) {
				t.Fatalf("HostAddr(%d) = %s is outside %s", k, addr, n.Network)
			}
			var rec dataset.IPRecord
			res := db.Lookup(addr)
			// The writer merges neighbours with equal records into one
			// prefix, so the found prefix may be wider.
			if err := res.Decode(&rec); err != nil || !res.Prefix().Contains(n.Network.Addr()) || res.Prefix().Bits() > n.Network.Bits() {
				t.Fatalf("%s: prefix %s, err %v", addr, res.Prefix(), err)
			}
			if rec.NetworkType != n.NetworkType || rec.CompanyDomain != n.CompanyDomain || rec.Geo.CountryCode == "" {
				t.Fatalf("%s: record %+v, networks.jsonl says %+v", addr, rec, n)
			}
		}
	}
	for _, typ := range []string{"business", "isp", "hosting", "education"} {
		if types[typ] == 0 {
			t.Errorf("no %s networks", typ)
		}
	}
	if v6 < 3 {
		t.Errorf("only %d IPv6 networks", v6)
	}
}

func TestCompaniesFileHasGuideCompaniesFirst(t *testing.T) {
	dir := testSet(t)
	data, err := os.ReadFile(filepath.Join(dir, dataset.CompaniesFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(lines) != 502 {
		t.Fatalf("%d lines, want 502", len(lines))
	}
	nc, mdx := schemas.GuideNetcontrol(), schemas.GuideMDX()
	if !bytes.Equal(lines[0], nc.AppendJSON(nil)) || !bytes.Contains(lines[0], []byte(`"phone":null`)) {
		t.Errorf("line 1 is not the guide's Netcontrol:\n%s", lines[0])
	}
	if !bytes.Equal(lines[1], mdx.AppendJSON(nil)) || !bytes.Contains(lines[1], []byte(`"phone":"+44 20 7469 2610"`)) {
		t.Errorf("line 2 is not the guide's MDX:\n%s", lines[1])
	}
	companies, err := dataset.LoadCompanies(filepath.Join(dir, dataset.CompaniesFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(companies) != 502 {
		t.Fatalf("%d unique domains, want 502", len(companies))
	}
	got := companies["netcontrol.com"]
	if !bytes.Equal(got.AppendJSON(nil), nc.AppendJSON(nil)) {
		t.Errorf("loaded Netcontrol differs: %s", got.AppendJSON(nil))
	}

	// Every generated company makes a lead body the schema accepts, and
	// uses the guide's wording.
	v, err := schemas.NewValidator(schemas.SchemaNewLead)
	if err != nil {
		t.Fatal(err)
	}
	ranges := map[string]bool{}
	for domain, c := range companies {
		lead := schemas.GuideNetcontrolLead()
		lead.Company = c
		body := schemas.AppendPayload(nil, schemas.EventNewLead, [][]byte{lead.AppendJSON(nil)})
		if err := v.Validate(body); err != nil {
			t.Fatalf("%s: %v", domain, err)
		}
		if c.EmployeeRange != nil {
			ranges[*c.EmployeeRange] = true
			if !strings.HasSuffix(*c.EmployeeRange, " employees") {
				t.Errorf("%s: employee_range %q", domain, *c.EmployeeRange)
			}
		}
		if c.Domain != strings.ToLower(c.Domain) || strings.ContainsAny(c.Domain, " |") {
			t.Errorf("bad domain %q", c.Domain)
		}
	}
	if len(ranges) < 5 {
		t.Errorf("only %d employee ranges used", len(ranges))
	}
}

func TestContactsFile(t *testing.T) {
	dir := testSet(t)
	companies, err := dataset.LoadCompanies(filepath.Join(dir, dataset.CompaniesFile))
	if err != nil {
		t.Fatal(err)
	}
	byDomain, err := dataset.LoadContacts(filepath.Join(dir, dataset.ContactsFile))
	if err != nil {
		t.Fatal(err)
	}
	john := byDomain["mdxtechnology.com"][0]
	want := schemas.GuideJohnDoe()
	if got := john.Contact(companies["mdxtechnology.com"]); !bytes.Equal(got.AppendJSON(nil), want.AppendJSON(nil)) {
		t.Errorf("John Doe differs from the guide:\n got  %s\n want %s", got.AppendJSON(nil), want.AppendJSON(nil))
	}
	if john.Seniority != dataset.SeniorityVP || john.Department != dataset.DepartmentSales || john.CountryCode != "GB" {
		t.Errorf("John Doe persona fields: %+v", john)
	}
	if n := len(byDomain["mdxtechnology.com"]); n < 4 {
		t.Errorf("MDX has %d contacts", n)
	}
	if n := len(byDomain["netcontrol.com"]); n < 4 {
		t.Errorf("Netcontrol has %d contacts", n)
	}

	v, err := schemas.NewValidator(schemas.SchemaContactRevealed)
	if err != nil {
		t.Fatal(err)
	}
	seniorities := map[string]bool{}
	departments := map[string]bool{}
	emails := map[string]bool{}
	total := 0
	for domain, list := range byDomain {
		c, ok := companies[domain]
		if !ok {
			t.Fatalf("contacts for unknown company %q", domain)
		}
		if len(list) > 20 {
			t.Errorf("%s has %d contacts", domain, len(list))
		}
		for _, r := range list {
			total++
			if emails[r.Email] {
				t.Errorf("email %s repeats", r.Email)
			}
			emails[r.Email] = true
			if !strings.HasSuffix(r.Email, "@"+domain) {
				t.Errorf("email %s is not at %s", r.Email, domain)
			}
			seniorities[r.Seniority] = true
			departments[r.Department] = true
			if len(r.CountryCode) != 2 {
				t.Errorf("country_code %q", r.CountryCode)
			}
			subject := r.Contact(c)
			body := schemas.AppendPayload(nil, schemas.EventContactRevealed, [][]byte{subject.AppendJSON(nil)})
			if err := v.Validate(body); err != nil {
				t.Fatalf("%s: %v", r.Email, err)
			}
		}
	}
	if len(seniorities) != 6 || len(departments) < 9 {
		t.Errorf("seniorities %v, departments %v", seniorities, departments)
	}
	m, err := dataset.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Contacts != total || m.TotalCompanies != len(companies) || m.Seed != 1 || m.Companies != 500 {
		t.Errorf("manifest %+v, counted %d contacts, %d companies", m, total, len(companies))
	}
}

func TestLoadersRejectBadLines(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(testSet(t), dataset.CompaniesFile))
	if err != nil {
		t.Fatal(err)
	}
	firstLine := string(good[:bytes.IndexByte(good, '\n')+1])
	contact := `{"first_name":"A","last_name":"B","email":"a@x.com","company_domain":"x.com","seniority":"vp","department":"sales","country_code":"GB"}` + "\n"
	for _, tc := range []struct {
		name, file, content, want string
		load                      func(path string) error
	}{
		{"company not JSON", dataset.CompaniesFile, firstLine + "{not json\n", ":2: bad record: invalid JSON", loadCompanies},
		{"company without domain", dataset.CompaniesFile, firstLine + "\n" + `{"name":"X"}` + "\n", ":3: bad record: missing domain", loadCompanies},
		{"repeated domain", dataset.CompaniesFile, firstLine + firstLine, `:2: bad record: domain "netcontrol.com" repeats`, loadCompanies},
		{"long line", dataset.CompaniesFile, firstLine + `{"name":"` + strings.Repeat("x", 2<<20) + "\"}\n", ":2: bad record: line longer", loadCompanies},
		{"contact without email", dataset.ContactsFile, contact + `{"first_name":"A","company_domain":"x.com"}` + "\n", ":2: bad record: missing email", loadContacts},
		{"contact wrong type", dataset.ContactsFile, contact + contact + `{"email":1}` + "\n", ":3: bad record: invalid JSON", loadContacts},
		{"network bad type", dataset.NetworksFile, `{"network":"1.2.3.0/24","network_type":"cafe"}` + "\n", `:1: bad record: unknown network_type "cafe"`, loadNetworks},
		{"network bad cidr", dataset.NetworksFile, `{"network":"1.2.3.0/33","network_type":"isp"}` + "\n", ":1: bad record: invalid JSON", loadNetworks},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			err := tc.load(path)
			var le *dataset.LineError
			if !errors.Is(err, dataset.ErrBadRecord) || !errors.As(err, &le) || le.File != path {
				t.Fatalf("err = %v, want a dataset.LineError for %s wrapping dataset.ErrBadRecord", err, path)
			}
			if !strings.Contains(err.Error(), path+tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, path+tc.want)
			}
		})
	}
	if _, err := dataset.LoadCompanies(filepath.Join(dir, "missing.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func loadCompanies(path string) error { _, err := dataset.LoadCompanies(path); return err }
func loadContacts(path string) error  { _, err := dataset.LoadContacts(path); return err }
func loadNetworks(path string) error  { _, err := dataset.LoadNetworks(path); return err }

func TestGenerateOptionsProgressAndCancel(t *testing.T) {
	ctx := context.Background()
	for _, opts := range []sampledata.Options{
		{Companies: 1},
		{OutDir: t.TempDir(), Companies: -1},
		{OutDir: t.TempDir(), Companies: sampledata.MaxCompanies + 1},
	} {
		if err := sampledata.Generate(ctx, opts); !errors.Is(err, sampledata.ErrOptions) {
			t.Errorf("%+v: err = %v", opts, err)
		}
	}

	var calls [][2]int
	err := sampledata.Generate(ctx, sampledata.Options{Seed: 3, Companies: 2500, OutDir: t.TempDir(),
		Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{1000, 2502}, {2000, 2502}, {2502, 2502}}
	if len(calls) != len(want) {
		t.Fatalf("progress calls %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Fatalf("progress calls %v, want %v", calls, want)
		}
	}

	// Only the fixed data with zero companies.
	dir := t.TempDir()
	if err := sampledata.Generate(ctx, sampledata.Options{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	if m, err := dataset.ReadManifest(dir); err != nil || m.TotalCompanies != 2 {
		t.Errorf("zero companies: manifest %+v, %v", m, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	dir = t.TempDir()
	err = sampledata.Generate(cctx, sampledata.Options{Companies: 1000, OutDir: dir})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, dataset.ManifestFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cancelled run wrote a manifest: %v", err)
	}
}

func TestEnsureGeneratesOnceAndRepairs(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	dir, err := sampledata.Ensure(ctx, cache, 5, 40)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "sample-v1-seed5-n40" {
		t.Errorf("dir = %s", dir)
	}
	if err := sampledata.CheckSet(dir, 5, 40); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := sampledata.Ensure(ctx, cache, 5, 40)
	if err != nil || again != dir {
		t.Fatalf("second Ensure: %s, %v", again, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("second Ensure regenerated a complete set")
	}

	// A truncated file makes the set incomplete; Ensure replaces it.
	if err := os.Truncate(filepath.Join(dir, dataset.ContactsFile), 10); err != nil {
		t.Fatal(err)
	}
	if err := sampledata.CheckSet(dir, 5, 40); !errors.Is(err, sampledata.ErrIncomplete) {
		t.Fatalf("CheckSet on a truncated set: %v", err)
	}
	if _, err := sampledata.Ensure(ctx, cache, 5, 40); err != nil {
		t.Fatal(err)
	}
	if err := sampledata.CheckSet(dir, 5, 40); err != nil {
		t.Fatalf("after repair: %v", err)
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 {
		t.Errorf("cache holds %d entries, want only the set", len(entries))
	}
}

func TestHostAddr(t *testing.T) {
	for _, tc := range []struct {
		cidr string
		n    uint64
		want string
	}{
		{"198.51.100.0/24", 0, "198.51.100.1"},
		{"198.51.100.0/24", 253, "198.51.100.254"},
		{"198.51.100.0/24", 254, "198.51.100.1"},
		{"2001:db8::/48", 0, "2001:db8::1"},
		{"2001:db8::/48", 255, "2001:db8::100"},
		{"192.0.2.7/32", 9, "192.0.2.7"},
		{"240.0.0.0/16", 256, "240.0.1.1"},
	} {
		r := dataset.NetworkRecord{Network: netip.MustParsePrefix(tc.cidr)}
		if got := r.HostAddr(tc.n).String(); got != tc.want {
			t.Errorf("HostAddr(%s, %d) = %s, want %s", tc.cidr, tc.n, got, tc.want)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := sampledata.Generate(context.Background(), sampledata.Options{Seed: 1, Companies: 10_000, OutDir: b.TempDir()}); err != nil {
			b.Fatal(err)
		}
	}
}
