//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive advisory lock on the data directory (a
// LockFileName file in it), held until release. A second Carillon on the
// same directory is refused at once instead of sharing the file, which the
// live state (live.go) could not tell about. The kernel drops the lock when the
// process dies, so a killed server never leaves it behind.
func lockDir(dir string) (release func() error, exclusive bool, err error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, fmt.Errorf("sqlite: data directory %s is %w", dir, ErrDirInUse)
		}
		return nil, false, fmt.Errorf("sqlite: data directory lock: %w", err)
	}
	return f.Close, true, nil
}
