package controlplane

import "github.com/haul-dev/haul/internal/dirlock"

// LockDataDir takes an exclusive lock on dir so that two `haul up` never share one data
// dir. The lock dies with the process, so a crash never leaves a stale lock behind.
func LockDataDir(dir string) (unlock func(), err error) {
	return dirlock.Lock(dir, "--data-dir")
}
