package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryExitCodes runs the built binary: --help exits 0 and prints no
// secret from the environment, an unknown flag exits 2 with one line on
// stderr, version names the toolchain.
func TestBinaryExitCodes(t *testing.T) {
	bin := carillonBinary(t)
	run := func(args ...string) (stdout, stderr string, code int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(),
			"CARILLON_DATABASE_URL=postgres://carillon:db-pass-0001@db.internal/carillon",
			"CARILLON_ROOT_SECRET_ACCESS_KEY=root-secret-0002", "CARILLON_ROOT_ACCESS_KEY_ID=AKID")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"keys", "--help"}, {"keys", "create", "--help"},
		{"audit", "--help"}, {"meetings", "list", "--help"}, {"reset", "--help"}, {"version", "--help"}} {
		out, errOut, code := run(args...)
		if code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("carillon %s: exit %d, stdout %q", strings.Join(args, " "), code, out)
		}
		if strings.Contains(out+errOut, "db-pass-0001") || strings.Contains(out+errOut, "root-secret-0002") {
			t.Errorf("carillon %s printed a secret", strings.Join(args, " "))
		}
	}
	for _, args := range [][]string{{"serve", "--bogus"}, {"keys", "list", "--bogus"}, {"meetings", "get", "--bogus"}} {
		out, errOut, code := run(args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "--bogus") {
			t.Errorf("carillon %s: exit %d, stdout %q, stderr %q; want 2 and one line", strings.Join(args, " "), code, out, errOut)
		}
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, _, code := run(args...)
		if code != 0 || !strings.HasPrefix(out, "carillon ") || !strings.Contains(out, " go1.") {
			t.Errorf("carillon %s: exit %d, %q", strings.Join(args, " "), code, out)
		}
	}
}
