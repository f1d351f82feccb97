package sampledata

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/leadflow/leadflow/schemas/dataset"
)

// ErrIncomplete is returned by CheckSet for a directory that is not a
// complete data set.
var ErrIncomplete = errors.New("sampledata: incomplete data set")

// EnsureDefault returns the directory of the default sample set (DefaultSeed,
// DefaultCompanies) under cacheDir, generating it on first use. It is what
// `leadflow dev` loads. See Ensure.
func EnsureDefault(ctx context.Context, cacheDir string) (string, error) {
	return Ensure(ctx, cacheDir, DefaultSeed, DefaultCompanies)
}

// Ensure returns cacheDir/sample-v<FormatVersion>-seed<seed>-n<companies>,
// generating the set there unless a complete one (CheckSet) is present. The
// set is generated in a temporary directory under cacheDir and renamed into
// place, so a killed run never leaves a half set under the final name (only
// a ".tmp-sample-*" directory, which a later Ensure that has to generate
// removes once it is an hour old). Concurrent callers may both
// generate; the first rename wins and the others use its result.
func Ensure(ctx context.Context, cacheDir string, seed int64, companies int) (string, error) {
	dir := filepath.Join(cacheDir, fmt.Sprintf("sample-v%d-seed%d-n%d", dataset.FormatVersion, seed, companies))
	if CheckSet(dir, seed, companies) == nil {
		return dir, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("sampledata: %w", err)
	}
	removeStaleTemps(cacheDir)
	tmp, err := os.MkdirTemp(cacheDir, ".tmp-sample-*")
	if err != nil {
		return "", fmt.Errorf("sampledata: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // gone after a successful rename
	if err := Generate(ctx, Options{Seed: seed, Companies: companies, OutDir: tmp}); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if CheckSet(dir, seed, companies) == nil {
			return dir, nil // another process finished first
		}
		// A broken set under the final name (e.g. edited by hand): replace it.
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			return "", fmt.Errorf("sampledata: replacing broken set %s: %w", dir, rmErr)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return "", fmt.Errorf("sampledata: %w", err)
		}
	}
	return dir, nil
}

// CheckSet reports whether dir holds a complete set generated with seed and
// companies by this FormatVersion: the manifest matches and every file has
// the size it lists. Errors wrap ErrIncomplete.
func CheckSet(dir string, seed int64, companies int) error {
	m, err := dataset.ReadManifest(dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIncomplete, err)
	}
	if m.FormatVersion != dataset.FormatVersion || m.Seed != seed || m.Companies != companies {
		return fmt.Errorf("%w: %s has format %d, seed %d, %d companies; want %d, %d, %d", ErrIncomplete,
			dir, m.FormatVersion, m.Seed, m.Companies, dataset.FormatVersion, seed, companies)
	}
	if len(m.Files) == 0 {
		return fmt.Errorf("%w: %s: manifest lists no files", ErrIncomplete, dir)
	}
	for _, f := range m.Files {
		st, err := os.Stat(filepath.Join(dir, f.Name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%w: %s is missing", ErrIncomplete, filepath.Join(dir, f.Name))
		case err != nil:
			return fmt.Errorf("%w: %w", ErrIncomplete, err)
		case st.Size() != f.Size:
			return fmt.Errorf("%w: %s has %d bytes, manifest says %d", ErrIncomplete,
				filepath.Join(dir, f.Name), st.Size(), f.Size)
		}
	}
	return nil
}

// staleTempAge is how old a ".tmp-sample-*" directory must be before Ensure
// treats it as left behind by a killed run.
const staleTempAge = time.Hour

// removeStaleTemps removes temporary set directories of killed runs. It is
// best effort: a failure only leaves litter behind.
func removeStaleTemps(cacheDir string) {
	matches, _ := filepath.Glob(filepath.Join(cacheDir, ".tmp-sample-*")) // the pattern is valid
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && time.Since(st.ModTime()) > staleTempAge {
			_ = os.RemoveAll(m) // best effort
		}
	}
}
