package schemas

// ScanRawEvent runs the raw-event scanner alone on data (keys, duplicates,
// types; no validation), for BenchmarkDecodeRawEventScan.
func ScanRawEvent(data []byte, ev *RawEvent) error {
	*ev = RawEvent{}
	sc := rawScanner{scanner: scanner{src: string(data)}}
	return sc.scanEvent(ev)
}
