package gitx

import (
	"context"
	"time"
)

// SetStallTimeout shortens the no-progress timeout for a test and returns a restore func.
func SetStallTimeout(d time.Duration) (restore func()) {
	old := stallTimeout
	stallTimeout = d
	return func() { stallTimeout = old }
}

// WithClock makes Push take its jitter from jitter and wait with sleep.
func WithClock(o PushOptions, jitter func(time.Duration) time.Duration, sleep func(context.Context, time.Duration) error) PushOptions {
	o.jitter, o.sleep = jitter, sleep
	return o
}
