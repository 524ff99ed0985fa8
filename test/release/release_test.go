// Package release tests how Carillon is built and shipped: go install from
// a clone, the release script, the container image.
package release

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repoRoot is the repository's top directory (this package is test/release).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestGoInstall: `go install ./cmd/carillon` from a clone gives a working
// binary, as the README says.
func TestGoInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; runs without -short")
	}
	bin := t.TempDir()
	cmd := exec.Command("go", "install", "./cmd/carillon")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install ./cmd/carillon: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "carillon"), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "carillon ") {
		t.Fatalf("installed carillon version: %q %v", out, err)
	}
}

// TestReleaseScript runs scripts/release.sh for this machine's platform
// only (a cross-build of all six takes minutes on 2 cores; .ci/run builds
// all six with RELEASE_ALL=1 set for this test): the archive holds the
// binary, LICENSE, NOTICE and README.md, SHA256SUMS checks it, and the
// binary reports the version it was built with.
func TestReleaseScript(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds release archives; runs without -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("needs bash")
	}
	const version = "v0.0.0-releasetest"
	targets := []string{runtime.GOOS + "/" + runtime.GOARCH}
	if os.Getenv("RELEASE_ALL") != "" {
		targets = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64", "windows/arm64"}
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "scripts/release.sh", version, out)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "RELEASE_TARGETS="+strings.Join(targets, " "))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, b)
	}
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range targets {
		goos, goarch, _ := strings.Cut(target, "/")
		name := "carillon_" + version + "_" + goos + "_" + goarch
		archive := name + ".tar.gz"
		if goos == "windows" {
			archive = name + ".zip"
		}
		if !strings.Contains(string(sums), "  "+archive+"\n") {
			t.Errorf("SHA256SUMS lacks %s:\n%s", archive, sums)
		}
		if _, err := os.Stat(filepath.Join(out, archive)); err != nil {
			t.Error(err)
		}
		if goos != runtime.GOOS || goarch != runtime.GOARCH || goos == "windows" {
			continue
		}
		files := untar(t, filepath.Join(out, archive), out)
		for _, f := range []string{"carillon", "LICENSE", "NOTICE", "README.md"} {
			if !files[name+"/"+f] {
				t.Errorf("%s lacks %s (has %v)", archive, f, files)
			}
		}
		v, err := exec.Command(filepath.Join(out, name, "carillon"), "version").Output()
		if err != nil || !strings.HasPrefix(string(v), "carillon "+version+" ") {
			t.Errorf("the released binary says %q (%v), want version %s", v, err, version)
		}
	}
	if n := strings.Count(string(sums), "\n"); n != len(targets) {
		t.Errorf("%d archives in SHA256SUMS, want %d", n, len(targets))
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = out
	if b, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, b)
	}
}

func untar(t *testing.T, archive, dir string) map[string]bool {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || strings.Contains(h.Name, "..") {
			continue
		}
		files[h.Name] = true
		dst := filepath.Join(dir, h.Name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		w, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, tr); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
}

// TestDockerfileBuilds builds the image where a Docker engine answers; the
// machines this suite usually runs on have only the client, so it skips
// there with a message.
func TestDockerfileBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image; runs without -short")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker client: the Dockerfile build is not checked here")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine answers (docker info: %v): the Dockerfile build is not checked here", strings.TrimSpace(firstLine(string(out))))
	}
	tag := "carillon-test:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	build := exec.Command("docker", "build", "--build-arg", "VERSION=v0.0.0-dockertest", "-t", tag, ".")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	defer exec.Command("docker", "rmi", "-f", tag).Run()
	out, err := exec.Command("docker", "run", "--rm", tag, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "carillon v0.0.0-dockertest ") {
		t.Errorf("docker run %s version: %q %v", tag, out, err)
	}
	user, err := exec.Command("docker", "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Healthcheck.Test}} {{json .Config.Volumes}}", tag).Output()
	if err != nil || !strings.HasPrefix(string(user), "65532:65532 ") || !strings.Contains(string(user), "health") || !strings.Contains(string(user), "/data") {
		t.Errorf("image config: %q %v; want a non-root user, a health check and a /data volume", user, err)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
