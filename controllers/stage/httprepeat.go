package stage

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/haul-dev/haul/promotion"
)

// Keys the verification http step accepts on top of the http step's own config.
const (
	keyCount        = "count"
	keyInterval     = "interval"
	keyFailureLimit = "failureLimit"
)

// verificationRegistry copies base, wrapping http so that verification can repeat a
// check: count checks, interval apart, failing once more than failureLimit failed.
func verificationRegistry(base *promotion.Registry) *promotion.Registry {
	reg := promotion.NewRegistry()
	for _, name := range base.Names() {
		step, _ := base.Lookup(name)
		if name == "http" {
			inner := step
			reg.Register(name, func() promotion.Step { return &repeatedHTTP{inner: inner} })
			continue
		}
		reg.Register(name, func() promotion.Step { return step })
	}
	if _, ok := base.Lookup("http"); !ok {
		reg.Register("http", func() promotion.Step { return &repeatedHTTP{base: base} })
	}
	return reg
}

// repeatedHTTP runs the http step several times when count, interval or failureLimit
// is set (otherwise it is the plain http step). Its progress lives in its own output
// (checks, failures, lastCheckAt), which the engine persists while the step is Running.
type repeatedHTTP struct {
	inner promotion.Step
	// base is consulted at run time when http was not registered yet at start-up.
	base *promotion.Registry
}

func (h *repeatedHTTP) Run(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	inner := h.inner
	if inner == nil {
		var ok bool
		if inner, ok = h.base.Lookup("http"); !ok {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("step kind http is not available"))
		}
	}
	_, hasCount := sc.Config[keyCount]
	_, hasInterval := sc.Config[keyInterval]
	_, hasLimit := sc.Config[keyFailureLimit]
	if !hasCount && !hasInterval && !hasLimit {
		return inner.Run(ctx, sc) // a plain http step: its own polling semantics
	}
	cfg := maps.Clone(sc.Config)
	count, err := intKey(cfg, keyCount, 1)
	if err != nil {
		return promotion.StepResult{}, err
	}
	failureLimit, err := intKey(cfg, keyFailureLimit, 0)
	if err != nil {
		return promotion.StepResult{}, err
	}
	interval := 10 * time.Second
	if v, ok := cfg[keyInterval]; ok {
		s, _ := v.(string)
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("config.interval %v: want a duration such as 30s", v))
		}
		interval = d
	}
	delete(cfg, keyCount)
	delete(cfg, keyInterval)
	delete(cfg, keyFailureLimit)
	if count < 1 {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("config.count %d: want at least 1", count))
	}

	prev, _ := sc.Outputs[sc.Alias].(map[string]any)
	checks, _ := toInt(prev["checks"])
	failures, _ := toInt(prev["failures"])
	now := time.Now()
	if sc.Services != nil && sc.Services.Now != nil {
		now = sc.Services.Now()
	}
	if last, ok := prev["lastCheckAt"].(string); ok && checks > 0 {
		if t, err := time.Parse(time.RFC3339Nano, last); err == nil && now.Sub(t) < interval {
			return promotion.StepResult{Status: promotion.StatusRunning, Output: prev, RequeueAfter: interval - now.Sub(t),
				Message: fmt.Sprintf("check %d of %d passed so far %d, failed %d", checks, count, checks-failures, failures)}, nil
		}
	}

	sub := *sc
	sub.Config = cfg
	res, runErr := inner.Run(ctx, &sub)
	checks++
	msg := res.Message
	switch {
	case runErr != nil:
		failures++
		msg = runErr.Error()
	case res.Status == promotion.StatusFailed || res.Status == promotion.StatusErrored:
		failures++
	case res.Status == promotion.StatusRunning:
		// With repetition, a check whose successExpression does not hold is a failed
		// measurement rather than something to poll.
		failures++
	}
	out := map[string]any{}
	maps.Copy(out, res.Output)
	out["checks"], out["failures"], out["lastCheckAt"] = checks, failures, now.UTC().Format(time.RFC3339Nano)
	if msg != "" {
		out["lastMessage"] = msg
	}
	if failures > failureLimit {
		return promotion.StepResult{Status: promotion.StatusFailed, Output: out,
			Message: fmt.Sprintf("%d of %d checks failed (limit %d): %s", failures, checks, failureLimit, msg)}, nil
	}
	if checks >= count {
		return promotion.StepResult{Output: out, Message: fmt.Sprintf("%d checks, %d failed (limit %d)", checks, failures, failureLimit)}, nil
	}
	return promotion.StepResult{Status: promotion.StatusRunning, Output: out, RequeueAfter: interval,
		Message: fmt.Sprintf("%d of %d checks done, %d failed", checks, count, failures)}, nil
}

func intKey(cfg map[string]any, key string, def int) (int, error) {
	v, ok := cfg[key]
	if !ok {
		return def, nil
	}
	n, ok := toInt(v)
	if !ok {
		return 0, promotion.Terminal(fmt.Errorf("config.%s %v: want a whole number", key, v))
	}
	return n, nil
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}
