// Package dirlock keeps two Haul processes from sharing one local directory (a `haul up`
// data dir, a controller's work dir): an exclusive flock that dies with the process.
package dirlock

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// InUseError is a directory another process holds.
type InUseError struct {
	// Dir is the directory, Owner who holds it ("haul pid N" or "another process"),
	// Flag the flag that chose the directory.
	Dir, Owner, Flag string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("%s %s is already in use by %s; stop it first or pass another %s", e.Flag, e.Dir, e.Owner, e.Flag)
}

// Lock takes an exclusive lock on dir (creating it), recording this process's pid in
// dir/haul.lock. flag names the flag the directory came from, for the error. The lock
// dies with the process, so a crash never leaves a stale lock behind.
func Lock(dir, flag string) (unlock func(), err error) {
	// dir is the operator's own flag value (--work-dir, --data-dir), not request input.
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // G703: operator-chosen directory
		return nil, fmt.Errorf("creating %s %s: %w", flag, dir, err)
	}
	path := filepath.Join(dir, "haul.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644) //nolint:gosec // G703: operator-chosen directory
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path) //nolint:gosec // G703: operator-chosen directory
		_ = f.Close()
		owner := strings.TrimSpace(string(b))
		if owner == "" {
			owner = "another process"
		} else {
			owner = "haul pid " + owner
		}
		return nil, &InUseError{Dir: dir, Owner: owner, Flag: flag}
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
