package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/app"
	"github.com/carillon-dev/carillon/internal/faultproxy"
)

// TestFaultStartWhileDatabaseDown: `carillon serve` started while its
// database is unreachable. Carillon's choice (tested here): it fails at
// start-up, within a bounded time, with an error that says the database is
// unavailable, names no secret and never prints an Endpoint (so a process
// supervisor restarts it and a load balancer never routes to it). Serving
// not-ready instead would need migrations to run later; failing keeps
// "serving" and "schema up to date" the same thing.
func TestFaultStartWhileDatabaseDown(t *testing.T) {
	db := freshDatabase(t, mnDatabaseURL(t))
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.Start(t, u.Host)
	const password = "s3cret-db-password"
	u.Host = proxy.Addr
	u.User = url.UserPassword(u.User.Username(), password)
	dbURL := u.String()

	for _, tc := range []struct {
		name      string
		blackhole bool
		bound     time.Duration
	}{
		{"refused", false, 5 * time.Second},
		{"black hole", true, 10 * time.Second}, // one connect timeout (2s) plus slack
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy.Down()
			if tc.blackhole {
				proxy.Up(true)
			}
			env := map[string]string{"CARILLON_ROOT_ACCESS_KEY_ID": testKeyID, "CARILLON_ROOT_SECRET_ACCESS_KEY": testSecret}
			args := []string{"serve", "--addr", "127.0.0.1:0", "--region", testRegion, "--account-id", testAccount, "--database-url", dbURL}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stdout, stderr := &syncBuffer{}, &syncBuffer{}
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- app.Run(ctx, args, func(k string) string { return env[k] }, stdout, stderr) }()
			var runErr error
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				cancel()
				<-done
				t.Fatalf("carillon serve neither failed nor served 30s after start with the database down\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			}
			took := time.Since(start)
			t.Logf("serve returned after %v: %v", took.Round(time.Millisecond), runErr)
			if runErr == nil {
				t.Fatalf("serve returned nil with the database down")
			}
			if took > tc.bound {
				t.Errorf("serve took %v to give up, want < %v", took, tc.bound)
			}
			if msg := runErr.Error(); !strings.Contains(msg, "unavailable") && !strings.Contains(msg, "unreachable") {
				t.Errorf("start-up error %q does not say that the database is unavailable", msg)
			}
			all := runErr.Error() + stdout.String() + stderr.String()
			if strings.Contains(all, password) {
				t.Errorf("the database password appears in the error or the logs:\n%s", all)
			}
			if strings.Contains(stdout.String(), "Endpoint:") {
				t.Errorf("serve printed an Endpoint although it could not open its store:\n%s", stdout)
			}
		})
	}

	// And once the database is back, the same command line starts.
	proxy.Down()
	proxy.Up(false)
	s := startServer(t, mnEngineAt(dbURL))
	st, err := mnGet(context.Background(), s, "/carillon/health/ready")
	if err != nil || st != 200 {
		t.Errorf("ready after a normal start = %d, %v", st, err)
	}
}
