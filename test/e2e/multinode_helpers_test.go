package e2e

// Helpers of the multi-node and fault tests (issue 3). Names carry an mn
// prefix so that they do not collide with other helpers of the package.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"
)

// mnPublicURL is the --public-url every node of a multi-node test shares, so
// that MediaPlacement (derived from it) is the same on every node.
const mnPublicURL = "http://carillon.multinode.test"

// mnDatabaseURL returns CARILLON_TEST_DATABASE_URL, or skips the test with a
// message that says how to enable it.
func mnDatabaseURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("CARILLON_TEST_DATABASE_URL")
	if u == "" {
		t.Skip("multi-node and fault tests need PostgreSQL: set CARILLON_TEST_DATABASE_URL, e.g. " +
			`CARILLON_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" go test ./test/e2e -run 'Multinode|Fault'`)
	}
	return u
}

// mnEngineAt is a PostgreSQL engine bound to one database URL, so that
// several nodes can share it.
func mnEngineAt(dbURL string) engine {
	return engine{"postgres", func(*testing.T) []string { return []string{"--database-url", dbURL} }}
}

// mnTwoNodes starts two in-process nodes on one fresh database, with the same
// --public-url. It returns the nodes and the database URL.
func mnTwoNodes(t *testing.T) ([2]*server, string) {
	t.Helper()
	db := freshDatabase(t, mnDatabaseURL(t))
	e := mnEngineAt(db)
	a := startServer(t, e, "--public-url", mnPublicURL)
	b := startServer(t, e, "--public-url", mnPublicURL)
	return [2]*server{a, b}, db
}

// mnAPIError returns the HTTP status and error code of an SDK error (0, ""
// when err carries none).
func mnAPIError(err error) (int, string) {
	var status int
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return status, ae.ErrorCode()
	}
	return status, ""
}

// mnHTTP is the client of raw requests: bounded, so a hang fails the test
// instead of blocking it.
var mnHTTP = &http.Client{Timeout: 30 * time.Second}

// mnDo sends a SigV4-signed request (service chime) and returns the response;
// unlike server.do it is safe to call from goroutines (no t.Fatal).
func mnDo(ctx context.Context, s *server, method, pathAndQuery string, body []byte) (rawResponse, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.Endpoint+pathAndQuery, bytes.NewReader(body))
	if err != nil {
		return rawResponse{}, err
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "chime", testRegion, time.Now()); err != nil {
		return rawResponse{}, err
	}
	resp, err := mnHTTP.Do(req)
	if err != nil {
		return rawResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawResponse{}, err
	}
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// mnGet sends an unsigned GET (health endpoints).
func mnGet(ctx context.Context, s *server, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := mnHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// mnJSON marshals v or fails the test.
func mnJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mnQueryInt runs a one-number query on the database of dbURL (stored state,
// seen without going through any node).
func mnQueryInt(t *testing.T, dbURL, q string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting to the test database: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// mnWithHost returns dbURL with its host:port replaced by hostport.
func mnWithHost(t *testing.T, dbURL, hostport string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostport
	return u.String()
}

// mnStart releases goroutines together: each calls wait() and blocks until
// go_() is called, so conflicting requests reach both nodes at one moment.
type mnStart struct{ ch chan struct{} }

func newMNStart() *mnStart          { return &mnStart{ch: make(chan struct{})} }
func (s *mnStart) wait()            { <-s.ch }
func (s *mnStart) release()         { close(s.ch) }
func mnName(p string, i int) string { return fmt.Sprintf("%s-%03d", p, i) }
