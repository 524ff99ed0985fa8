package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// secretEnv sets every variable a command reads to a value holding a
// secret that no help text may print.
var secretEnv = map[string]string{
	"CARILLON_DATABASE_URL":           "postgres://carillon:db-pass-0001@db.internal:5432/carillon?sslmode=require",
	"CARILLON_ROOT_ACCESS_KEY_ID":     "AKIDROOT",
	"CARILLON_ROOT_SECRET_ACCESS_KEY": "root-secret-0002",
	"CARILLON_ENDPOINT":               "https://user:endpoint-pass-0003@carillon.internal",
	"CARILLON_PUBLIC_URL":             "https://user:public-pass-0004@meetings.example.com",
}

var secrets = []string{"db-pass-0001", "root-secret-0002", "endpoint-pass-0003", "public-pass-0004"}

// commandLines lists every command and subcommand.
var commandLines = [][]string{
	{"serve"}, {"version"}, {"keys", "create"}, {"keys", "list"}, {"keys", "delete"}, {"audit"},
	{"meetings", "list"}, {"meetings", "get"}, {"meetings", "delete"}, {"reset"}, {"health"},
}

func runCLI(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = Run(context.Background(), args, env(secretEnv), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestEveryHelpExitsZeroAndHidesSecrets(t *testing.T) {
	var helps [][]string
	for _, cmd := range commandLines {
		helps = append(helps, append(cmd[:len(cmd):len(cmd)], "--help"), append(cmd[:len(cmd):len(cmd)], "-h"),
			append([]string{"help"}, cmd...))
	}
	helps = append(helps, []string{"--help"}, []string{"-h"}, []string{"help"},
		[]string{"keys", "--help"}, []string{"meetings", "--help"}, []string{"keys", "help"})
	for _, args := range helps {
		out, errOut, err := runCLI(args...)
		if code := ExitCode(err); code != ExitOK {
			t.Errorf("carillon %s: exit %d (%v), want 0", strings.Join(args, " "), code, err)
			continue
		}
		if !strings.Contains(out, "Usage") {
			t.Errorf("carillon %s: no usage on stdout:\n%s", strings.Join(args, " "), out)
		}
		for _, s := range secrets {
			if strings.Contains(out+errOut, s) {
				t.Errorf("carillon %s: help shows the secret %q:\n%s", strings.Join(args, " "), s, out)
			}
		}
	}
}

func TestServeHelpShowsTypesAndDefaults(t *testing.T) {
	out, _, err := runCLI("serve", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--addr address", "default 127.0.0.1:8080", "env CARILLON_ADDR",
		"--max-attendees int", "default 250",
		"--meeting-max-duration duration", "default 24h0m0s",
		"--max-in-flight int", "default 1024",
		"--memory-attendees int", "default 1048576",
		"--dev\n", "--database-url URL", "--metrics-addr address", "--tls-cert file", "--log-format format",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %q:\n%s", want, out)
		}
	}
}

func TestUnknownFlagsExitTwoWithOneLine(t *testing.T) {
	for _, cmd := range commandLines {
		args := append(cmd[:len(cmd):len(cmd)], "--bogus")
		out, errOut, err := runCLI(args...)
		if code := ExitCode(err); code != ExitUsage {
			t.Errorf("carillon %s: exit %d (%v), want %d", strings.Join(args, " "), code, err, ExitUsage)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "unknown flag --bogus") || out != "" || errOut != "" {
			t.Errorf("carillon %s: want one line naming --bogus and nothing else printed; got %q, stdout %q, stderr %q",
				strings.Join(args, " "), msg, out, errOut)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"keys", "rotate"}, {"meetings", "purge"}, {"keys"}, {"serve", "extra"}, {"reset"}} {
		_, _, err := runCLI(args...)
		if code := ExitCode(err); code != ExitUsage {
			t.Errorf("carillon %s: exit %d (%v), want %d", strings.Join(args, " "), code, err, ExitUsage)
		}
	}
	if _, _, err := runCLI("serve", "--max-attendees", "many"); ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--max-attendees") {
		t.Errorf("a bad value: %v", err)
	}
	if _, _, err := runCLI(); ExitCode(err) != ExitUsage {
		t.Errorf("no command: %v, want a usage error", err)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, err := runCLI(args...)
		if err != nil || !strings.HasPrefix(out, "carillon ") || !strings.Contains(out, "go1.") {
			t.Errorf("carillon %s: %q, %v", strings.Join(args, " "), out, err)
		}
	}
	old := version
	defer func() { version = old }()
	version = "v9.8.7"
	if out, _, _ := runCLI("version"); !strings.HasPrefix(out, "carillon v9.8.7 ") {
		t.Errorf("a version set at link time is not printed: %q", out)
	}
}

func TestRedactValue(t *testing.T) {
	for _, tc := range []struct{ flag, value, leak string }{
		{"database-url", "postgres://u:pw1@h/db", "pw1"},
		{"database-url", "host=h password=pw2", "pw2"},
		{"database-url", "postgres://u@h/db?password=pw3", "pw3"},
		{"root-secret", "pw4", "pw4"},
	} {
		if got := redactValue(tc.flag, tc.value); strings.Contains(got, tc.leak) {
			t.Errorf("redactValue(%q, %q) = %q", tc.flag, tc.value, got)
		}
	}
}
