//go:build !unix

package schemas_test

// processCPU returns 0: CPU time is measured on Unix only.
func processCPU() int64 { return 0 }
