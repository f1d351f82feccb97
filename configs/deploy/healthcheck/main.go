// Command healthcheck is the container health probe of the leadflow image:
// the image starts FROM scratch, so it has no shell, curl or wget for a
// compose or Docker HEALTHCHECK to call. It GETs one URL and exits 0 on a
// 2xx answer, 1 otherwise (printing why), within -timeout (default 2s).
//
//	/healthcheck                                  # http://127.0.0.1:8080/readyz
//	/healthcheck -timeout 5s http://127.0.0.1:9090/healthz
//
// Kubernetes does not need it (its httpGet probes run outside the
// container). .ci/image-build builds it beside leadflow into the image.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	timeout := flag.Duration("timeout", 2*time.Second, "longest the whole request may take")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: healthcheck [-timeout 2s] [URL]  (default URL http://127.0.0.1:8080/readyz)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	url := "http://127.0.0.1:8080/readyz"
	if flag.NArg() > 0 {
		url = flag.Arg(0)
	}
	if err := probe(url, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// probe GETs url and returns nil on a 2xx status; otherwise an error with
// the status and the start of the body (the reasons /readyz gives).
func probe(url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}
