package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseServeDefaults(t *testing.T) {
	cfg, err := parseServe(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:8080" || cfg.data != "carillon-data" || cfg.region != "us-east-1" ||
		cfg.accountID != "111122223333" || cfg.maxAttendees != 250 || cfg.meetingMaxDuration != 24*time.Hour {
		t.Fatalf("defaults: %+v", cfg)
	}
	if !cfg.devCredentials || cfg.accessKeyID != DevAccessKeyID || cfg.secretAccessKey != DevSecretAccessKey {
		t.Fatalf("want development credentials (D24), got %q", cfg.accessKeyID)
	}
	if cfg.memoryAttendees != sqlite.DefaultLiveAttendees {
		t.Fatalf("--memory-attendees default %d, want %d", cfg.memoryAttendees, sqlite.DefaultLiveAttendees)
	}
}

func TestParseServeMemoryAttendees(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int // sqlite.Options.LiveAttendees, which means the same
	}{{"0", 0}, {"1", 1}, {"250000", 250000}} {
		cfg, err := parseServe([]string{"--memory-attendees", tc.value}, env(nil), &bytes.Buffer{})
		if err != nil {
			t.Fatalf("--memory-attendees %s: %v", tc.value, err)
		}
		if got := cfg.memoryAttendees; got != tc.want {
			t.Errorf("--memory-attendees %s: store option %d, want %d", tc.value, got, tc.want)
		}
	}
}

func TestParseServeEnvironmentAndFlags(t *testing.T) {
	e := env(map[string]string{
		"CARILLON_ADDR":                   "127.0.0.1:9999",
		"CARILLON_DATA":                   "/tmp/x",
		"CARILLON_REGION":                 "eu-west-1",
		"CARILLON_ACCOUNT_ID":             "000000000001",
		"CARILLON_MAX_ATTENDEES":          "10000",
		"CARILLON_ROOT_ACCESS_KEY_ID":     "AKID",
		"CARILLON_ROOT_SECRET_ACCESS_KEY": "SECRET",
	})
	cfg, err := parseServe([]string{"--region", "ap-south-1"}, e, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr != "127.0.0.1:9999" || cfg.data != "/tmp/x" || cfg.accountID != "000000000001" || cfg.maxAttendees != 10000 {
		t.Fatalf("environment not applied: %+v", cfg)
	}
	if cfg.region != "ap-south-1" {
		t.Fatalf("a flag must override the environment: region %q", cfg.region)
	}
	if cfg.devCredentials || cfg.accessKeyID != "AKID" || cfg.secretAccessKey != "SECRET" {
		t.Fatalf("root credentials from the environment not used")
	}
}

func TestParseServeRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"short account id", []string{"--account-id", "123"}, nil, "12 digits"},
		{"letters in account id", []string{"--account-id", "12345678901a"}, nil, "12 digits"},
		{"zero attendees", []string{"--max-attendees", "0"}, nil, "max-attendees"},
		{"negative memory attendees", []string{"--memory-attendees", "-1"}, nil, "memory-attendees"},
		{"memory attendees not a number", nil, map[string]string{"CARILLON_MEMORY_ATTENDEES": "lots"}, "memory-attendees"},
		{"bad duration", []string{"--meeting-max-duration", "soon"}, nil, "meeting-max-duration"},
		{"only the key id", nil, map[string]string{"CARILLON_ROOT_ACCESS_KEY_ID": "x"}, "both"},
		{"only the secret", nil, map[string]string{"CARILLON_ROOT_SECRET_ACCESS_KEY": "x"}, "both"},
		{"stray argument", []string{"extra"}, nil, "unexpected argument"},
		{"unknown flag", []string{"--nope"}, nil, "unknown flag --nope"},
		{"integer flag", []string{"--max-in-flight", "many"}, nil, "max-in-flight"},
		{"log format", []string{"--log-format", "xml"}, nil, "log-format"},
		{"tls cert without key", []string{"--tls-cert", "c.pem"}, nil, "--tls-key"},
		{"dev on every address", []string{"--dev", "--addr", "0.0.0.0:8080"}, nil, "loopback"},
		{"dev on an empty host", []string{"--dev", "--addr", ":8080"}, nil, "loopback"},
		{"dev from the environment on a public address", nil, map[string]string{"CARILLON_DEV": "true", "CARILLON_ADDR": "192.0.2.1:80"}, "loopback"},
		{"auth failure limit", []string{"--auth-failure-limit", "aws"}, nil, "auth-failure-limit"},
	}
	for _, tt := range tests {
		_, err := parseServe(tt.args, env(tt.env), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
		if ExitCode(err) != ExitUsage {
			t.Errorf("%s: exit code %d, want %d", tt.name, ExitCode(err), ExitUsage)
		}
	}
}

func TestRunUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"frobnicate"}, env(nil), &out, &errOut); err == nil {
		t.Fatal("want an error for an unknown command")
	}
	if err := Run(context.Background(), []string{"--help"}, env(nil), &out, &errOut); err != nil {
		t.Fatalf("--help: %v", err)
	}
	if !strings.Contains(out.String(), "carillon serve") {
		t.Fatalf("usage not printed: %q", out.String())
	}
}

func TestRedactURL(t *testing.T) {
	got := redactURL("postgres://alice:s3cret@db:5432/carillon?sslmode=disable")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "alice") {
		t.Fatalf("redactURL leaked or mangled: %q", got)
	}
	if got := redactURL("host=db password=s3cret"); strings.Contains(got, "s3cret") {
		t.Fatalf("redactURL leaked a DSN password: %q", got)
	}
}

// TestBannerDoesNotPrintARealSecret: the start-up banner shows the secret only
// when it is the public development one (D24).
func TestBannerDoesNotPrintARealSecret(t *testing.T) {
	var out bytes.Buffer
	printBanner(&out, &config{region: "us-east-1", accessKeyID: "AKID", secretAccessKey: "real-secret"}, "http://127.0.0.1:1", "x", nil)
	if strings.Contains(out.String(), "real-secret") {
		t.Fatalf("banner leaked the root secret:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Endpoint: http://127.0.0.1:1\n") {
		t.Fatalf("banner lacks the Endpoint line:\n%s", out.String())
	}
}
