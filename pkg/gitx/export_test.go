package gitx

import "time"

// SetStallTimeout shortens the no-progress timeout for a test and returns a restore func.
func SetStallTimeout(d time.Duration) (restore func()) {
	old := stallTimeout
	stallTimeout = d
	return func() { stallTimeout = old }
}
