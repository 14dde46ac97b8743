package promotion

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/go-logr/logr"

	"github.com/haul-dev/haul/pkg/redact"
)

// Secrets is what one Promotion has learned from Secrets while it runs: every value an
// expression read through secret() and every credential the engine handed to a step
// (so that no message, Event, log line or saved output shows them), and the real values
// of the outputs whose saved copies are masked.
//
// How a Secret-derived output is stored: the copy written to Promotion.status.state
// holds "***" in place of every masked string and lists those strings' JSON pointers
// under the "$redacted" key; later steps of the same Promotion in the same process see
// the real value, which Secrets keeps in memory only. After a controller restart the
// real value is gone: a resumed Promotion whose later step reads such an output fails
// with an error naming it rather than using "***" (a Promotion replayed from its first
// step, because its work dir was lost too, computes the value again).
//
// The caller keeps one Secrets per Promotion for as long as that Promotion runs and
// hands it to every Run (Request.Secrets). It is safe for concurrent use.
type Secrets struct {
	values redact.Values

	mu      sync.Mutex
	outputs map[string]any // unmasked outputs by alias, as the last Run left them
}

// NewSecrets returns an empty Secrets, as a Promotion has when it starts.
func NewSecrets() *Secrets { return &Secrets{} }

// Values is the set of secret values messages are masked with.
func (s *Secrets) Values() *redact.Values {
	if s == nil {
		return nil
	}
	return &s.values
}

// Mask returns msg as it may be shown outside the engine: known secret values and
// credential-looking text (URL user info, Authorization headers, tokens) masked.
func (s *Secrets) Mask(msg string) string { return s.Values().String(msg) }

// MaskError is err with Mask applied to its message; errors.Is and errors.As still see
// the chain.
func (s *Secrets) MaskError(err error) error { return s.Values().Error(err) }

// Holds reports whether v (a string, or maps and slices of them) contains a value read
// from a Secret, and where: the path below v of the first one found.
func (s *Secrets) Holds(v any) (string, bool) {
	vals := s.Values()
	var walk func(v any, path string) (string, bool)
	walk = func(v any, path string) (string, bool) {
		switch x := v.(type) {
		case string:
			return path, vals.Contains(x)
		case map[string]any:
			for k, val := range x {
				if p, ok := walk(val, path+"."+k); ok {
					return p, true
				}
			}
		case []any:
			for i, val := range x {
				if p, ok := walk(val, fmt.Sprintf("%s[%d]", path, i)); ok {
					return p, true
				}
			}
		}
		return "", false
	}
	return walk(v, "")
}

// maxOutputDepth bounds how deep maskValue walks an output (a step returning a
// structure that refers to itself must not hang the engine).
const maxOutputDepth = 256

// redactedKey is where the saved outputs list the JSON pointers of masked values. Step
// aliases cannot start with '$' (see PromotionStep.As), so it never names a step.
const redactedKey = "$redacted"

// forStatus returns the copy of st that may leave the engine: step messages, outputs
// and health checks masked, the masked outputs' pointers under redactedKey. It
// remembers st's real outputs for the next Run of the same Promotion.
func (s *Secrets) forStatus(st State) State {
	out := State{CurrentStep: st.CurrentStep}
	for _, m := range st.Steps {
		c := *m.DeepCopy()
		c.Message = s.Mask(c.Message)
		out.Steps = append(out.Steps, c)
	}
	var masked []string
	if st.Outputs != nil {
		out.Outputs = make(map[string]any, len(st.Outputs)+1)
		for alias, v := range st.Outputs {
			if alias == redactedKey {
				continue
			}
			out.Outputs[alias] = s.maskValue(v, []string{alias}, &masked)
		}
		if len(masked) > 0 {
			list := make([]any, len(masked))
			for i, p := range masked {
				list[i] = p
			}
			out.Outputs[redactedKey] = list
		}
	}
	for _, h := range st.HealthChecks {
		var ignored []string
		cfg, _ := s.maskValue(h.Config, nil, &ignored).(map[string]any)
		out.HealthChecks = append(out.HealthChecks, HealthCheck{Uses: h.Uses, Config: cfg})
	}
	s.mu.Lock()
	s.outputs = copyValue(st.Outputs).(map[string]any)
	s.mu.Unlock()
	return out
}

// restore undoes forStatus on outputs read back from a status: the masked values are
// replaced by the real ones this process remembers, or, when it does not (a restart),
// by a lostSecret that makes any use of them fail clearly.
func (s *Secrets) restore(outputs map[string]any) {
	raw, ok := outputs[redactedKey]
	if !ok {
		return
	}
	delete(outputs, redactedKey)
	list, _ := raw.([]any)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range list {
		ptr, _ := p.(string)
		path := parsePointer(ptr)
		if len(path) == 0 {
			continue
		}
		if v, ok := lookupPath(s.outputs, path); ok {
			setPath(outputs, path, copyValue(v))
			continue
		}
		setPath(outputs, path, lostSecret{path: path})
	}
}

// maskValue returns a masked copy of v, appending the pointer of every string it
// changed to masked.
func (s *Secrets) maskValue(v any, path []string, masked *[]string) any {
	if len(path) > maxOutputDepth {
		*masked = append(*masked, pointer(path))
		return redact.Mask
	}
	switch x := v.(type) {
	case nil, bool, int, int32, int64, float32, float64, json.Number:
		return x
	case string:
		m := s.Mask(x)
		if m != x {
			*masked = append(*masked, pointer(path))
		}
		return m
	case lostSecret:
		*masked = append(*masked, pointer(path))
		return redact.Mask
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = s.maskValue(val, appendPath(path, k), masked)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = s.maskValue(val, appendPath(path, strconv.Itoa(i)), masked)
		}
		return out
	}
	// Other shapes a step may return ([]string, map[string]string, structs): mask
	// their JSON form, which is what the status would hold anyway.
	b, err := json.Marshal(v)
	if err != nil {
		return redact.Mask
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return redact.Mask
	}
	return s.maskValue(generic, path, masked)
}

func appendPath(path []string, k string) []string {
	return append(append(make([]string, 0, len(path)+1), path...), k)
}

// lostSecret stands in for an output value that was saved masked and whose real value
// this process never saw (the controller restarted). Reading it is an error.
type lostSecret struct{ path []string }

// errLostSecret is wrapped by every error that reports a lostSecret.
var errLostSecret = errors.New("the value came from a Secret, was saved masked, and was lost when the controller restarted; start a new Promotion")

func (l lostSecret) err() error {
	return Terminal(fmt.Errorf("outputs.%s: %w", strings.Join(l.path, "."), errLostSecret))
}

// MarshalJSON refuses, so the masked stand-in is never rendered into text or config.
func (l lostSecret) MarshalJSON() ([]byte, error) { return nil, l.err() }

// findLost returns the first lostSecret inside v.
func findLost(v any) (lostSecret, bool) {
	switch x := v.(type) {
	case lostSecret:
		return x, true
	case map[string]any:
		for _, val := range x {
			if l, ok := findLost(val); ok {
				return l, true
			}
		}
	case []any:
		for _, val := range x {
			if l, ok := findLost(val); ok {
				return l, true
			}
		}
	}
	return lostSecret{}, false
}

// copyValue deep-copies maps and slices (keeping lostSecret values, which a JSON round
// trip would refuse). Copying a step's output before it joins the outputs also cuts
// any reference back into them (compose-output of ${{ outputs }}).
func copyValue(v any) any { return copyDepth(v, 0) }

func copyDepth(v any, depth int) any {
	if depth > maxOutputDepth {
		return redact.Mask
	}
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return map[string]any(nil)
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = copyDepth(val, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = copyDepth(val, depth+1)
		}
		return out
	}
	return v
}

// pointer renders a path as an RFC 6901 JSON pointer.
func pointer(path []string) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(p))
	}
	return b.String()
}

func parsePointer(p string) []string {
	if !strings.HasPrefix(p, "/") {
		return nil
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
	}
	return parts
}

func lookupPath(v any, path []string) (any, bool) {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			val, ok := x[p]
			if !ok {
				return nil, false
			}
			v = val
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// setPath replaces the value at path, which must exist; a missing path is left alone.
func setPath(root map[string]any, path []string, val any) {
	var cur any = root
	for i, p := range path {
		last := i == len(path)-1
		switch x := cur.(type) {
		case map[string]any:
			if _, ok := x[p]; !ok {
				return
			}
			if last {
				x[p] = val
				return
			}
			cur = x[p]
		case []any:
			j, err := strconv.Atoi(p)
			if err != nil || j < 0 || j >= len(x) {
				return
			}
			if last {
				x[j] = val
				return
			}
			cur = x[j]
		default:
			return
		}
	}
}

// maskingSink masks secret values in every message, error and string value it logs.
type maskingSink struct {
	logr.LogSink
	v *redact.Values
}

// maskLogger wraps l's sink. The wrapped sink was initialised when l was made and is
// shared by every run, so the wrapper's Init must not reach it (zapr's Init rewrites
// its logger in place: concurrent runs raced there); instead the wrapper asks for one
// more frame of call depth, the frame it adds itself.
func maskLogger(l logr.Logger, v *redact.Values) logr.Logger {
	sink := l.GetSink()
	if sink == nil {
		return l
	}
	if cd, ok := sink.(logr.CallDepthLogSink); ok {
		sink = cd.WithCallDepth(1)
	}
	return logr.New(maskingSink{LogSink: sink, v: v})
}

// Init does nothing: the wrapped sink is already initialised (see maskLogger).
func (m maskingSink) Init(logr.RuntimeInfo) {}

func (m maskingSink) Info(level int, msg string, kv ...any) {
	m.LogSink.Info(level, m.v.String(msg), m.kvs(kv)...)
}

func (m maskingSink) Error(err error, msg string, kv ...any) {
	m.LogSink.Error(m.v.Error(err), m.v.String(msg), m.kvs(kv)...)
}

func (m maskingSink) WithValues(kv ...any) logr.LogSink {
	return maskingSink{LogSink: m.LogSink.WithValues(m.kvs(kv)...), v: m.v}
}

func (m maskingSink) WithName(name string) logr.LogSink {
	return maskingSink{LogSink: m.LogSink.WithName(name), v: m.v}
}

func (m maskingSink) kvs(kv []any) []any {
	out := make([]any, len(kv))
	for i, x := range kv {
		switch v := x.(type) {
		case string:
			x = m.v.String(v)
		case error:
			x = m.v.Error(v)
		}
		out[i] = x
	}
	return out
}
