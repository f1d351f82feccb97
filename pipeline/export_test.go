package pipeline

// PoolCounts returns how many decompression buffers r's record pool got
// back and lent again (0, 0 for a stage that is not a RecordRecycler).
func PoolCounts(r *Runner) (returned, reused int64) {
	if r.pool == nil {
		return 0, 0
	}
	return r.pool.returned.Load(), r.pool.reused.Load()
}

// SlabCounts returns how many output slabs r's finished batches gave back
// and how many of them were lent again (Batch.Grow).
func SlabCounts(r *Runner) (returned, lent int64) {
	return r.slabs.returned.Load(), r.slabs.lent.Load()
}
