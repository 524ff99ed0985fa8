package app

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at link time by release builds:
//
//	go build -ldflags "-X github.com/carillon-dev/carillon/internal/app.version=v1.2.3"
//
// When it is empty the module version from the build info is used (set by
// `go install module@version`, or derived from a VCS tag by go build).
var version string

// versionString is what `carillon version` prints: the version, the VCS
// revision and time when the build recorded them, and the toolchain.
func versionString() string {
	v, rev, at, modified := version, "", "", false
	info, ok := debug.ReadBuildInfo()
	if ok {
		if v == "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	out := "carillon " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += " revision " + rev
		if modified {
			out += "+modified"
		}
		if at != "" {
			out += " (" + at + ")"
		}
	}
	return out + fmt.Sprintf(" %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
