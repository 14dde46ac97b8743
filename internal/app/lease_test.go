package app

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// TestLeaseTimingsRefuseAnImpossibleOrder: client-go's leader election needs
// LeaseDuration > RenewDeadline > 1.2 × RetryPeriod; a wrong set of flags is refused at
// start naming the flags, instead of panicking inside the manager.
func TestLeaseTimingsRefuseAnImpossibleOrder(t *testing.T) {
	if l, err := (LeaseTimings{}).withDefaults(); err != nil || l != DefaultLease {
		t.Fatalf("zero timings: %+v, %v; want the defaults", l, err)
	}
	cases := map[string]LeaseTimings{
		"--leader-election-lease-duration":          {LeaseDuration: 30 * time.Second, RenewDeadline: 60 * time.Second},
		"1.2 × --leader-election-retry-period 1m0s": {RetryPeriod: time.Minute},
	}
	for want, l := range cases {
		if _, err := l.withDefaults(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want an error naming %q", l, err, want)
		}
	}
}

// writeCounter counts, into writes, the requests that change something on the API
// server.
type writeCounter struct {
	next   http.RoundTripper
	writes *atomic.Int64
}

func (c writeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		c.writes.Add(1)
	}
	return c.next.RoundTrip(r)
}

// BenchmarkIdleWritesPerMinute runs every controller with leader election, as
// `haul controller` does in a cluster, and counts the API writes of one idle minute
// (Lease renewals included), with Haul's Lease timings. HAUL_BENCH_LEASE=controller-runtime
// uses controller-runtime's defaults (15s/10s/2s) instead, for an A/B comparison (one
// set of controllers per process, so each variant is its own run). Issue 16's target is
// at most 2.
func BenchmarkIdleWritesPerMinute(b *testing.B) {
	lease := DefaultLease
	if os.Getenv("HAUL_BENCH_LEASE") == "controller-runtime" {
		lease = LeaseTimings{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
	}
	ctrl.SetLogger(logr.Discard())
	var writes atomic.Int64
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return writeCounter{next: rt, writes: &writes} }
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{
			RestConfig: cfg, Controllers: true, LeaderElection: true, LeaderElectionNamespace: "default", Lease: lease,
			Logger: logr.Discard(), Ready: func() { close(ready) },
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		b.Fatal(err)
	}
	// Let leadership settle (acquire, first sweeps) before the idle window.
	time.Sleep(5 * time.Second)
	var perMinute float64
	for b.Loop() {
		before := writes.Load()
		time.Sleep(time.Minute)
		perMinute = float64(writes.Load() - before)
	}
	b.ReportMetric(perMinute, "idle-writes/min")
}
