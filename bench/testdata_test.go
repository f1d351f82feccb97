package bench

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/leadflow/leadflow/bench/traffic"
	"github.com/leadflow/leadflow/schemas/sampledata"
)

var (
	testSetOnce sync.Once
	testSetBase string
	testSetDir  string
	testSet     *traffic.Data
	testSetErr  error
)

// testDataDir returns a small sample data set shared by the package's
// tests (generated once per test binary into a temporary directory).
func testDataDir(t testing.TB) string {
	t.Helper()
	testSetOnce.Do(func() {
		testSetBase, testSetErr = os.MkdirTemp("", "leadflow-bench-test-")
		if testSetErr != nil {
			return
		}
		if testSetDir, testSetErr = sampledata.Ensure(context.Background(), testSetBase, 1, 100); testSetErr == nil {
			testSet, testSetErr = traffic.LoadData(testSetDir)
		}
	})
	if testSetErr != nil {
		t.Fatal(testSetErr)
	}
	return testSetDir
}

func testData(t testing.TB) *traffic.Data {
	testDataDir(t)
	return testSet
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testSetBase != "" {
		_ = os.RemoveAll(testSetBase)
	}
	os.Exit(code)
}
