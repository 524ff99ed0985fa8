package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// carillonBinary builds cmd/carillon once per test run.
func carillonBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "carillon-e2e-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "carillon")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/carillon-dev/carillon/cmd/carillon").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building carillon: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// process is Carillon running as a separate OS process.
type process struct {
	server
	cmd    *exec.Cmd
	waited chan error
}

// startProcess runs `carillon serve` as a subprocess on a free loopback port
// with the test root credentials plus env, and returns once it serves. It is
// stopped with SIGTERM at the end of the test unless already gone.
func startProcess(t *testing.T, args []string, env ...string) *process {
	t.Helper()
	full := append([]string{"serve", "--addr", "127.0.0.1:0", "--region", testRegion, "--account-id", testAccount}, args...)
	cmd := exec.Command(carillonBinary(t), full...)
	cmd.Env = append(os.Environ(),
		"CARILLON_ROOT_ACCESS_KEY_ID="+testKeyID,
		"CARILLON_ROOT_SECRET_ACCESS_KEY="+testSecret)
	cmd.Env = append(cmd.Env, env...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{server: server{stderr: stderr}, cmd: cmd, waited: make(chan error, 1)}
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if ep, ok := strings.CutPrefix(sc.Text(), "Endpoint: "); ok {
				endpoint <- strings.TrimSpace(ep)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		close(endpoint)
	}()
	go func() { p.waited <- cmd.Wait() }()
	select {
	case ep, ok := <-endpoint:
		if !ok {
			t.Fatalf("carillon exited before serving: %v\n%s", <-p.waited, stderr.String())
		}
		p.Endpoint = ep
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("carillon did not start in 30s\n%s", stderr.String())
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.stop(t, syscall.SIGTERM)
		}
	})
	return p
}

// stop sends sig and waits for the process to exit; it returns the exit error.
func (p *process) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case err := <-p.waited:
		return err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatalf("carillon did not exit within 30s of %v\n%s", sig, p.stderr.String())
		return nil
	}
}
