package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strconv"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

// ErrBadRecord is wrapped by the loaders' errors about a bad line.
var ErrBadRecord = errors.New("bad record")

// maxLineBytes bounds one JSONL line (1 MiB).
const maxLineBytes = 1 << 20

// LineError is a bad line of a JSONL file. It wraps ErrBadRecord (and the
// decoding error, if any).
type LineError struct {
	// File is the file's path as given to the loader; Line counts from 1.
	File string
	Line int
	Err  error
}

// Error returns e.g. "companies.jsonl:17: bad record: missing domain".
func (e *LineError) Error() string {
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error, which wraps ErrBadRecord.
func (e *LineError) Unwrap() error { return e.Err }

// readLines streams path's non-empty lines through decode, stopping at the
// first error (a *LineError for bad content).
func readLines[T any](path string, decode func(line []byte, v *T) error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		f, err := os.Open(path)
		if err != nil {
			yield(zero, fmt.Errorf("dataset: %w", err))
			return
		}
		defer func() { _ = f.Close() }() // read-only: nothing to lose on close
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
		line := 0
		for sc.Scan() {
			line++
			if len(sc.Bytes()) == 0 {
				continue
			}
			var v T
			if err := decode(sc.Bytes(), &v); err != nil {
				yield(zero, &LineError{File: path, Line: line, Err: err})
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				err = fmt.Errorf("%w: line longer than %d bytes", ErrBadRecord, maxLineBytes)
			}
			yield(zero, &LineError{File: path, Line: line + 1, Err: err})
		}
	}
}

// badJSON wraps a decoding error as a bad record.
func badJSON(err error) error { return fmt.Errorf("%w: invalid JSON: %w", ErrBadRecord, err) }

// ReadCompanies streams the companies of a CompaniesFile. Iteration stops at
// the first error; a bad line gives a *LineError naming file:line.
func ReadCompanies(path string) iter.Seq2[schemas.Company, error] {
	return readLines(path, func(line []byte, c *schemas.Company) error {
		if err := c.UnmarshalJSON(line); err != nil {
			return badJSON(err)
		}
		if c.Domain == "" {
			return fmt.Errorf("%w: missing domain", ErrBadRecord)
		}
		return nil
	})
}

// LoadCompanies reads a CompaniesFile into a map by domain. A repeated
// domain is an error.
func LoadCompanies(path string) (map[string]schemas.Company, error) {
	out := map[string]schemas.Company{}
	line := 0
	for c, err := range ReadCompanies(path) {
		if err != nil {
			return nil, err
		}
		line++
		if _, dup := out[c.Domain]; dup {
			return nil, &LineError{File: path, Line: line, Err: fmt.Errorf("%w: domain %q repeats", ErrBadRecord, c.Domain)}
		}
		out[c.Domain] = c
	}
	return out, nil
}

// ReadContacts streams the records of a ContactsFile. Iteration stops at
// the first error; a bad line gives a *LineError naming file:line.
func ReadContacts(path string) iter.Seq2[ContactRecord, error] {
	return readLines(path, func(line []byte, r *ContactRecord) error {
		if err := json.Unmarshal(line, r); err != nil {
			return badJSON(err)
		}
		switch {
		case r.Email == "":
			return fmt.Errorf("%w: missing email", ErrBadRecord)
		case r.CompanyDomain == "":
			return fmt.Errorf("%w: missing company_domain", ErrBadRecord)
		}
		return nil
	})
}

// LoadContacts reads a ContactsFile grouped by company domain, each group in
// file order.
func LoadContacts(path string) (map[string][]ContactRecord, error) {
	out := map[string][]ContactRecord{}
	for r, err := range ReadContacts(path) {
		if err != nil {
			return nil, err
		}
		out[r.CompanyDomain] = append(out[r.CompanyDomain], r)
	}
	return out, nil
}

// LoadNetworks reads a NetworksFile in file order.
func LoadNetworks(path string) ([]NetworkRecord, error) {
	var out []NetworkRecord
	for r, err := range readLines(path, decodeNetwork) {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func decodeNetwork(line []byte, r *NetworkRecord) error {
	if err := json.Unmarshal(line, r); err != nil {
		return badJSON(err)
	}
	if !r.Network.IsValid() {
		return fmt.Errorf("%w: missing network", ErrBadRecord)
	}
	switch r.NetworkType {
	case schemas.NetworkBusiness:
		if r.CompanyDomain == "" {
			return fmt.Errorf("%w: business network %s without company_domain", ErrBadRecord, r.Network)
		}
	case schemas.NetworkISP, schemas.NetworkHosting, schemas.NetworkEducation:
	default:
		return fmt.Errorf("%w: unknown network_type %q", ErrBadRecord, r.NetworkType)
	}
	return nil
}

// ReadManifest reads dir's ManifestFile.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("dataset: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("dataset: %s: %w", filepath.Join(dir, ManifestFile), badJSON(err))
	}
	return m, nil
}
