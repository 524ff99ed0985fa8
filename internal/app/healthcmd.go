package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

var healthCommand = command{name: "health", synopsis: "[--endpoint URL] [--insecure]",
	summary: "Exits 0 when the server at --endpoint is ready (GET /carillon/health/ready answers 200), 1 otherwise.\n" +
		"For container health checks in images without curl."}

// runHealth implements `carillon health`.
func runHealth(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlagSet(healthCommand.name)
	endpoint := fs.String("endpoint", firstNonEmpty(getenv("CARILLON_ENDPOINT"), "http://127.0.0.1:8080"), "`URL` of the server (env CARILLON_ENDPOINT)")
	insecure := fs.Bool("insecure", false, "do not verify the server's TLS certificate (a container checking itself by its loopback address)")
	if err := parseFlags(healthCommand, fs, args, stdout); err != nil {
		return err
	}
	u, err := url.Parse(*endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErrorf("carillon health: --endpoint: %q is not an http(s) URL", redactURL(*endpoint))
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if *insecure {
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(u.String(), "/")+"/carillon/health/ready", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: HTTP %d", resp.StatusCode)
	}
	_, err = fmt.Fprintln(stdout, "ready")
	return err
}
