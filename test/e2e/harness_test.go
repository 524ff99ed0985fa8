// Package e2e holds Carillon's black-box tests: they start the server through
// the same app.Run that main uses (or as a subprocess) and drive it over HTTP
// with the official aws-sdk-go-v2 client, or with raw SigV4-signed requests
// for input the SDK would refuse to send.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/app"
)

const (
	testRegion  = "us-east-1"
	testAccount = "123456789012"
	testKeyID   = "AKIDCARILLONTEST"
	testSecret  = "carillon-test-secret-0123456789"
)

// engine is one storage engine the black-box suite runs against.
type engine struct {
	name string
	// args returns the serve flags that select the engine; each call gives a
	// fresh, empty store.
	args func(t *testing.T) []string
}

// engines returns the engines available on this machine. The PostgreSQL
// engine joins when CARILLON_TEST_DATABASE_URL is set (.ci/run sets it).
func engines(t *testing.T) []engine {
	es := []engine{
		{"sqlite", func(t *testing.T) []string { return []string{"--data", t.TempDir()} }},
	}
	if url := os.Getenv("CARILLON_TEST_DATABASE_URL"); url != "" {
		es = append(es, engine{"postgres", func(t *testing.T) []string {
			return []string{"--database-url", freshDatabase(t, url)}
		}})
	}
	return es
}

// forEachEngine runs f as a subtest against every engine.
func forEachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) { f(t, e) })
	}
}

// server is a Carillon started in-process through app.Run.
type server struct {
	Endpoint string
	Metrics  string // the /metrics URL when --metrics-addr is set
	Banner   string // what the server printed on stdout at start-up
	stderr   *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer starts Carillon on a free loopback port with the test root
// credentials and returns once it is serving. It stops at the end of the test.
func startServer(t *testing.T, e engine, extraArgs ...string) *server {
	t.Helper()
	return startServerEnv(t, e, map[string]string{
		"CARILLON_ROOT_ACCESS_KEY_ID":     testKeyID,
		"CARILLON_ROOT_SECRET_ACCESS_KEY": testSecret,
	}, extraArgs...)
}

// startServerEnv is startServer with the server's environment given.
func startServerEnv(t *testing.T, e engine, env map[string]string, extraArgs ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--region", testRegion, "--account-id", testAccount}, e.args(t)...)
	args = append(args, extraArgs...)
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		err := app.Run(ctx, args, func(k string) string { return env[k] }, outW, stderr)
		outW.CloseWithError(io.EOF)
		done <- err
	}()
	s := &server{stderr: stderr}
	banner := make(chan *server, 1)
	go func() {
		// The banner ends with the example command; Endpoint and Metrics
		// come before it.
		b := *s
		var text strings.Builder
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			line := sc.Text()
			text.WriteString(line + "\n")
			if ep, ok := strings.CutPrefix(line, "Endpoint: "); ok {
				b.Endpoint = strings.TrimSpace(ep)
			}
			if m, ok := strings.CutPrefix(line, "Metrics: "); ok {
				b.Metrics = strings.TrimSpace(m)
			}
			if strings.HasPrefix(strings.TrimSpace(line), "aws chime-sdk-meetings") {
				b.Banner = text.String()
				banner <- &b
			}
		}
		close(banner)
	}()
	select {
	case b, ok := <-banner:
		if !ok {
			cancel()
			t.Fatalf("server exited before serving: %v\n%s", <-done, stderr.String())
		}
		s.Endpoint, s.Metrics, s.Banner = b.Endpoint, b.Metrics, b.Banner
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("server did not start in 30s\n%s", stderr.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("server did not stop in 30s")
		}
	})
	return s
}

// client returns an official SDK client for the server that makes exactly
// one attempt per call, so errors are seen as the server sent them.
func (s *server) client(t *testing.T) *chimesdkmeetings.Client {
	return s.clientWith(t, testKeyID, testSecret, testRegion)
}

func (s *server) clientWith(t *testing.T, keyID, secret, region string) *chimesdkmeetings.Client {
	return chimesdkmeetings.New(chimesdkmeetings.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
	})
}

// rawResponse is a response to a hand-made request.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a raw request signed like the SDKs sign (service chime, the test
// region), for input an SDK would not send. pathAndQuery is sent verbatim.
func (s *server) do(t *testing.T, method, pathAndQuery string, body []byte) rawResponse {
	t.Helper()
	req := s.signedRequest(t, method, pathAndQuery, body, time.Now())
	return send(t, req)
}

// doAs is do with another access key.
func (s *server) doAs(t *testing.T, keyID, secret, method, pathAndQuery string, body []byte) rawResponse {
	t.Helper()
	return send(t, s.signedRequestAs(t, keyID, secret, method, pathAndQuery, body, time.Now()))
}

func (s *server) signedRequest(t *testing.T, method, pathAndQuery string, body []byte, at time.Time) *http.Request {
	t.Helper()
	return s.signedRequestAs(t, testKeyID, testSecret, method, pathAndQuery, body, at)
}

func (s *server) signedRequestAs(t *testing.T, keyID, secret, method, pathAndQuery string, body []byte, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+pathAndQuery, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "chime", testRegion, at); err != nil {
		t.Fatal(err)
	}
	return req
}

func send(t *testing.T, req *http.Request) rawResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
