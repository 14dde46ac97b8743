package promotion

import (
	"fmt"
	"sort"
	"sync"
)

// Factory makes a Step. It is called once per Register.
type Factory func() Step

// Registry maps step names (the `uses` of a step) to Steps.
type Registry struct {
	mu    sync.RWMutex
	steps map[string]Step
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{steps: map[string]Step{}} }

// Register adds a step kind. It panics on a duplicate name, since that is a programming
// error caught at start-up.
func (r *Registry) Register(name string, factory Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.steps[name]; dup {
		panic(fmt.Sprintf("promotion: step %q registered twice", name))
	}
	r.steps[name] = factory()
}

// Lookup returns the step registered under name.
func (r *Registry) Lookup(name string) (Step, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.steps[name]
	return s, ok
}

// Names lists the registered step names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.steps))
	for n := range r.steps {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// OutputKeys returns the output keys of the step registered under name for config
// (see OutputKeyer); known is false for an unregistered step or one that does not
// say.
func (r *Registry) OutputKeys(name string, config map[string]any) (keys []string, known bool) {
	s, ok := r.Lookup(name)
	if !ok {
		return nil, false
	}
	k, ok := s.(OutputKeyer)
	if !ok {
		return nil, false
	}
	return k.OutputKeys(config)
}
