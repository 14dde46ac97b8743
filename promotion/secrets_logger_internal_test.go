package promotion

import (
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"

	"github.com/haul-dev/haul/pkg/redact"
)

// TestMaskedLoggersShareTheirSinkSafely: runs started at the same time (one Stage's
// verification and another's promotion) each wrap the controller's logger; the
// wrappers share its sink without a data race (run with -race), still mask the run's
// secrets, and report the caller's line, not the wrapper's.
func TestMaskedLoggersShareTheirSinkSafely(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	base := funcr.New(func(_, args string) {
		mu.Lock()
		lines = append(lines, args)
		mu.Unlock()
	}, funcr.Options{LogCaller: funcr.All})
	secrets := &redact.Values{}
	secrets.Add("hunter2-token")

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { maskLogger(base, secrets).Info("pushing with hunter2-token") })
	}
	wg.Wait()
	if len(lines) != 8 {
		t.Fatalf("logged %d lines, want 8", len(lines))
	}
	for _, l := range lines {
		if strings.Contains(l, "hunter2-token") {
			t.Errorf("secret in log line %s", l)
		}
		if !strings.Contains(l, "secrets_logger_internal_test.go") {
			t.Errorf("log line %s names the wrong caller, want this test file", l)
		}
	}
}
