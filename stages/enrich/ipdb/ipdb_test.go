package ipdb

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/schemas/sampledata"
	"github.com/leadflow/leadflow/stages/enrich/ipdb/ipdbtest"
)

// sampleSet generates a small sample data set (the guide's networks plus
// 50 companies) into a temporary directory.
func sampleSet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := sampledata.Generate(context.Background(), sampledata.Options{Seed: 7, Companies: 50, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func open(t *testing.T, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func lookup(t *testing.T, db *DB, ip string) *Network {
	t.Helper()
	s, err := db.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	n, err := s.Lookup(netip.MustParseAddr(ip))
	if err != nil {
		t.Fatalf("Lookup(%s): %v", ip, err)
	}
	return n
}

func TestLookupSampleData(t *testing.T) {
	dir := sampleSet(t)
	db := open(t, filepath.Join(dir, dataset.IPDBFile), Options{})

	n := lookup(t, db, "198.51.100.23")
	if n == nil || n.Type != schemas.NetworkBusiness || n.Domain != "netcontrol.com" {
		t.Fatalf("198.51.100.23 = %+v, want netcontrol.com business", n)
	}
	want := schemas.GuideNetcontrolVisitorLocation()
	if n.Location == nil || *n.Location.City != *want.City || *n.Location.CountryCode != *want.CountryCode ||
		*n.Location.Region != *want.Region || *n.Location.Latitude != *want.Latitude || *n.Location.Longitude != *want.Longitude {
		t.Errorf("198.51.100.23 location = %+v, want Lahti/FI/Etela-Pohjanmaa/63.216671/22.85", n.Location)
	}
	if n := lookup(t, db, "203.0.113.9"); n == nil || n.Domain != "mdxtechnology.com" {
		t.Errorf("203.0.113.9 = %+v, want mdxtechnology.com", n)
	}
	if n := lookup(t, db, "192.0.2.77"); n == nil || n.Type != schemas.NetworkISP || n.Domain != "" {
		t.Errorf("192.0.2.77 = %+v, want an ISP", n)
	}
	if n := lookup(t, db, "2001:db8::1"); n == nil || n.Domain != "netcontrol.com" {
		t.Errorf("2001:db8::1 = %+v, want netcontrol.com (IPv6)", n)
	}
	if n := lookup(t, db, "2001:db8:1:ffff::42"); n == nil || n.Domain != "mdxtechnology.com" {
		t.Errorf("2001:db8:1:ffff::42 = %+v, want mdxtechnology.com (IPv6)", n)
	}
	for _, ip := range []string{"10.1.2.3", "8.8.8.8", "::1", "2a00:1450::1"} {
		if n := lookup(t, db, ip); n != nil {
			t.Errorf("%s = %+v, want not found", ip, n)
		}
	}

	// Every network of the set is found with its type and domain.
	nets, err := dataset.LoadNetworks(filepath.Join(dir, dataset.NetworksFile))
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, nr := range nets {
		n := lookup(t, db, nr.HostAddr(5).String())
		if n == nil || n.Type != nr.NetworkType || n.Domain != nr.CompanyDomain {
			t.Fatalf("%s = %+v, want %s %q", nr.Network, n, nr.NetworkType, nr.CompanyDomain)
		}
		types[n.Type]++
	}
	for _, typ := range []string{schemas.NetworkBusiness, schemas.NetworkISP, schemas.NetworkHosting, schemas.NetworkEducation} {
		if types[typ] == 0 {
			t.Errorf("no %s network in the sample set", typ)
		}
	}
}

func TestLookupCachesDecodedRecords(t *testing.T) {
	db := open(t, filepath.Join(sampleSet(t), dataset.IPDBFile), Options{})
	s, err := db.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	a, _ := s.Lookup(netip.MustParseAddr("198.51.100.1"))
	b, _ := s.Lookup(netip.MustParseAddr("198.51.100.200"))
	if a == nil || a != b {
		t.Fatalf("two addresses of one network gave %p and %p; want the same cached *Network", a, b)
	}
	if s.Misses != 1 || s.Hits != 1 {
		t.Errorf("Misses, Hits = %d, %d; want 1, 1", s.Misses, s.Hits)
	}
}

func TestRecordTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	ipdbtest.Write(t, path,
		ipdbtest.Network{Prefix: "10.0.0.0/24", Record: dataset.IPRecord{CompanyDomain: " Example.COM "}},
		ipdbtest.Network{Prefix: "10.0.1.0/24", Record: dataset.IPRecord{NetworkType: "government", CompanyDomain: "gov.example"}},
		ipdbtest.Network{Prefix: "10.0.2.0/24", Record: dataset.IPRecord{NetworkType: "hosting"}},
	)
	db := open(t, path, Options{})
	if n := lookup(t, db, "10.0.0.1"); n.Type != schemas.NetworkBusiness || n.Domain != "example.com" || n.Location != nil {
		t.Errorf("untyped record with a domain = %+v, want business example.com without location", n)
	}
	if n := lookup(t, db, "10.0.1.1"); n.Type != "government" {
		t.Errorf("government record = %+v, want its type kept", n)
	}
	if n := lookup(t, db, "10.0.2.1"); n.Type != schemas.NetworkHosting || n.Domain != "" {
		t.Errorf("hosting record = %+v", n)
	}
}

func TestBadRecordLayout(t *testing.T) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "x", IncludeReservedNetworks: true, IPVersion: 6, RecordSize: 28})
	if err != nil {
		t.Fatal(err)
	}
	_, ipnet, _ := net.ParseCIDR("10.9.0.0/16")
	if err := tree.Insert(ipnet, mmdbtype.Map{"network_type": mmdbtype.Uint32(3)}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "db.mmdb")
	ipdbtest.WriteTree(t, path, tree)
	db := open(t, path, Options{})
	s, _ := db.Acquire()
	defer s.Release()
	for range 2 {
		if _, err := s.Lookup(netip.MustParseAddr("10.9.1.1")); !errors.Is(err, ErrBadRecord) {
			t.Fatalf("Lookup of a record with an int network_type: err = %v, want ErrBadRecord", err)
		}
	}
	if s.Misses != 1 || s.Hits != 1 {
		t.Errorf("the bad record was decoded %d times; want once, then cached", s.Misses)
	}
}

// TestReloadMovesAnIP replaces the file with one where 198.51.100.0/24
// moved from one company to another: snapshots taken before keep reading
// the old file, the next ones see the new one, and the old file is closed
// once its last snapshot is released.
func TestReloadMovesAnIP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "old.example", "Lahti", "FI"))
	var reloads []string
	db := open(t, path, Options{OnReload: func(m *maxminddb.Metadata, err error) {
		if err != nil {
			reloads = append(reloads, "error")
		} else {
			reloads = append(reloads, "ok")
		}
	}})
	if ok, err := db.Reload(); ok || err != nil {
		t.Fatalf("Reload of an unchanged file = %v, %v; want false, nil", ok, err)
	}

	held, _ := db.Acquire()
	oldGen := held.g
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "new.example", "Oulu", "FI"))
	if ok, err := db.Reload(); !ok || err != nil {
		t.Fatalf("Reload after replace = %v, %v; want true, nil", ok, err)
	}
	if n := lookup(t, db, "198.51.100.23"); n.Domain != "new.example" || *n.Location.City != "Oulu" {
		t.Fatalf("after reload 198.51.100.23 = %+v, want new.example in Oulu", n)
	}
	if n, err := held.Lookup(netip.MustParseAddr("198.51.100.23")); err != nil || n.Domain != "old.example" {
		t.Fatalf("a snapshot held across the reload = %+v, %v; want the old file's old.example", n, err)
	}
	if oldGen.closed.Load() {
		t.Fatal("the old file was closed while a snapshot still held it")
	}
	held.Release()
	if !oldGen.closed.Load() {
		t.Fatal("the old file is still open after its last snapshot was released")
	}
	if len(reloads) != 1 || reloads[0] != "ok" {
		t.Errorf("OnReload calls = %v, want [ok]", reloads)
	}
}

func TestReloadKeepsOldFileWhenNewOneIsBroken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "a.example", "Lahti", "FI"))
	calls := 0
	db := open(t, path, Options{OnReload: func(*maxminddb.Metadata, error) { calls++ }})
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte("not a maxmind db"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if ok, err := db.Reload(); ok || err == nil {
			t.Fatalf("Reload of a broken file = %v, %v; want false and an error", ok, err)
		}
	}
	if calls != 1 {
		t.Errorf("OnReload called %d times for one broken file; want once (not retried until it changes)", calls)
	}
	if n := lookup(t, db, "198.51.100.1"); n.Domain != "a.example" {
		t.Fatalf("after a broken replacement = %+v, want the old file still in use", n)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Reload(); err == nil {
		t.Fatal("Reload of a missing file: no error")
	}
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "b.example", "Lahti", "FI"))
	if ok, err := db.Reload(); !ok || err != nil {
		t.Fatalf("Reload after a good file is back = %v, %v", ok, err)
	}
	if n := lookup(t, db, "198.51.100.1"); n.Domain != "b.example" {
		t.Fatalf("after recovery = %+v, want b.example", n)
	}
}

func TestAcquireChecksEveryInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "a.example", "Lahti", "FI"))
	db := open(t, path, Options{CheckInterval: 20 * time.Millisecond})
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "b.example", "Lahti", "FI"))
	deadline := time.Now().Add(5 * time.Second)
	for lookup(t, db, "198.51.100.1").Domain != "b.example" {
		if time.Now().After(deadline) {
			t.Fatal("the replaced file was not picked up by Acquire within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConcurrentLookupsAndReloads runs lookups on several goroutines while
// the file is replaced and reloaded over and over (run with -race): no
// lookup may fail or see a closed file, and every replaced file is closed
// in the end.
func TestConcurrentLookupsAndReloads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "db.mmdb")
	domains := []string{"a.example", "b.example"}
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", domains[0], "Lahti", "FI"))
	db := open(t, path, Options{CacheSize: 4})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lookups atomic.Int64
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := netip.MustParseAddr("198.51.100.9")
			for {
				select {
				case <-stop:
					return
				default:
				}
				s, err := db.Acquire()
				if err != nil {
					errs <- err
					return
				}
				for range 10 {
					n, err := s.Lookup(addr)
					if err != nil || n == nil || (n.Domain != domains[0] && n.Domain != domains[1]) {
						errs <- errors.New("bad lookup during reloads")
						s.Release()
						return
					}
					lookups.Add(1)
				}
				s.Release()
			}
		}()
	}
	var gens []*generation
	for i := range 40 {
		gens = append(gens, db.cur.Load())
		ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", domains[(i+1)%2], "Lahti", "FI"))
		if ok, err := db.Reload(); !ok || err != nil {
			t.Fatalf("reload %d = %v, %v", i, ok, err)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if lookups.Load() == 0 {
		t.Fatal("no lookups ran")
	}
	for i, g := range gens {
		if !g.closed.Load() {
			t.Errorf("generation %d was replaced and released but not closed", i)
		}
	}
	if db.cur.Load().closed.Load() {
		t.Error("the current generation is closed")
	}
}

func TestClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	ipdbtest.Write(t, path, ipdbtest.Business("198.51.100.0/24", "a.example", "Lahti", "FI"))
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	held, _ := db.Acquire()
	g := held.g
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Acquire(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Acquire after Close: %v, want ErrClosed", err)
	}
	if _, err := db.Reload(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reload after Close: %v, want ErrClosed", err)
	}
	if n, err := held.Lookup(netip.MustParseAddr("198.51.100.1")); err != nil || n.Domain != "a.example" {
		t.Fatalf("a snapshot held across Close = %+v, %v", n, err)
	}
	held.Release()
	if !g.closed.Load() {
		t.Fatal("file not closed after Close and the last Release")
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.mmdb"), Options{}); err == nil {
		t.Error("Open of a missing file: no error")
	}
	bad := filepath.Join(dir, "bad.mmdb")
	if err := os.WriteFile(bad, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad, Options{}); err == nil {
		t.Error("Open of a garbage file: no error")
	}
}

func BenchmarkLookupCached(b *testing.B) {
	dir := b.TempDir()
	if err := sampledata.Generate(context.Background(), sampledata.Options{Seed: 7, Companies: 300, OutDir: dir}); err != nil {
		b.Fatal(err)
	}
	db, err := Open(filepath.Join(dir, dataset.IPDBFile), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	nets, _ := dataset.LoadNetworks(filepath.Join(dir, dataset.NetworksFile))
	addrs := make([]netip.Addr, 0, 1024)
	for i := range 1024 {
		addrs = append(addrs, nets[i%len(nets)].HostAddr(uint64(i)))
	}
	s, _ := db.Acquire()
	defer s.Release()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Lookup(addrs[i%len(addrs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
