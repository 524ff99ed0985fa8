package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// envURL names the variable that enables the PostgreSQL tests.
const envURL = "CARILLON_TEST_DATABASE_URL"

// adminURL returns the test server's URL, or skips the test.
func adminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		t.Skip("PostgreSQL tests skipped: set " + envURL + " to a server URL to run them, e.g. " +
			envURL + "='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' " +
			"(the role must be allowed to CREATE DATABASE; each test creates and drops its own carillon_test_* database)")
	}
	return u
}

// freshDatabase creates an empty database carillon_test_<random> on the
// test server, drops it when the test ends, and returns its URL.
func freshDatabase(t testing.TB) string {
	t.Helper()
	admin := adminURL(t)
	var b [6]byte
	rand.Read(b[:])
	name := "carillon_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", envURL, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", envURL)
	}
	u.Path = "/" + name
	return u.String()
}

// freshSchema creates an empty schema in the database at dbURL and returns
// a URL whose sessions use it (search_path), so that tests sharing one
// database stay isolated; cheaper than a database per test.
func freshSchema(t testing.TB, dbURL string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "carillon_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", name, err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// withHost returns dbURL pointing at another host:port (a proxy).
func withHost(t testing.TB, dbURL, hostPort string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostPort
	return u.String()
}

// openStore opens a Store on a fresh database, closed when the test ends.
func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.URL == "" {
		opts.URL = freshDatabase(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}
