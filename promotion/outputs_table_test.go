package promotion_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/haul-dev/haul/promotion"
)

// unlisted collects, across the package's tests, every output key a built-in step
// produced that its output table (promotion.OutputKeyer) does not list: `haul apply`
// would refuse a reference to it although the step really outputs it.
var unlisted struct {
	sync.Mutex
	found map[string]bool
}

// TestMain fails the package when any test ran a built-in step whose Output held a key
// the step's output table lacks.
func TestMain(m *testing.M) {
	code := m.Run()
	if len(unlisted.found) > 0 {
		msgs := make([]string, 0, len(unlisted.found))
		for k := range unlisted.found {
			msgs = append(msgs, k)
		}
		sort.Strings(msgs)
		fmt.Fprintln(os.Stderr, "FAIL: built-in steps output keys their output table does not list (promotion/steps/registry.go):")
		for _, m := range msgs {
			fmt.Fprintln(os.Stderr, "  "+m)
		}
		code = 1
	}
	os.Exit(code)
}

type timeouter interface{ DefaultTimeout() time.Duration }

// outputChecked runs a built-in step and records output keys its table lacks.
type outputChecked struct {
	name  string
	inner promotion.Step
}

func (s outputChecked) Run(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	res, err := s.inner.Run(ctx, sc)
	keys, known := s.inner.(promotion.OutputKeyer).OutputKeys(sc.Config)
	if known {
		for k := range res.Output {
			if !slices.Contains(keys, k) {
				unlisted.Lock()
				if unlisted.found == nil {
					unlisted.found = map[string]bool{}
				}
				unlisted.found[fmt.Sprintf("%s outputs %q (listed: %v)", s.name, k, keys)] = true
				unlisted.Unlock()
			}
		}
	}
	return res, err
}

func (s outputChecked) DefaultTimeout() time.Duration {
	if t, ok := s.inner.(timeouter); ok {
		return t.DefaultTimeout()
	}
	return 0
}

func (s outputChecked) PropagatesTaskOutput() bool {
	p, ok := s.inner.(promotion.TaskOutputPropagator)
	return ok && p.PropagatesTaskOutput()
}

func (s outputChecked) OutputKeys(config map[string]any) ([]string, bool) {
	return s.inner.(promotion.OutputKeyer).OutputKeys(config)
}

// withOutputCheck returns a registry of r's steps, each watched by outputChecked.
func withOutputCheck(r *promotion.Registry) *promotion.Registry {
	out := promotion.NewRegistry()
	for _, name := range r.Names() {
		inner, _ := r.Lookup(name)
		if _, ok := inner.(promotion.OutputKeyer); !ok {
			panic(fmt.Sprintf("built-in step %s has no output table", name))
		}
		out.Register(name, func() promotion.Step { return outputChecked{name, inner} })
	}
	return out
}
