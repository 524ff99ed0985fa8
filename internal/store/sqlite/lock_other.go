//go:build !unix

package sqlite

// lockDir has no portable advisory lock to take here: the directory is not
// locked, and the live state stays off (exclusive is false).
func lockDir(string) (release func() error, exclusive bool, err error) {
	return func() error { return nil }, false, nil
}
