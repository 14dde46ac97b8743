package stage

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// writtenStages remembers, per Stage, the object the controller's last status write
// returned and the resourceVersion that write replaced. The Stage controller is the only
// writer of Stage.status, and its own writes reach its cache a moment later; a pass that
// starts in that moment would compute status from the Stage as it was before the write
// and conflict on patching (about two conflicts per release through three Stages). With
// this, such a pass starts from what it wrote instead.
type writtenStages struct {
	mu sync.Mutex
	m  map[types.NamespacedName]writtenStage
}

type writtenStage struct {
	// replaced is the resourceVersion the write was made over.
	replaced string
	// stage is the Stage as the API server returned it from the write.
	stage *haulv1.Stage
}

// remember records a status write: s as written, over resourceVersion replaced.
func (w *writtenStages) remember(replaced string, s *haulv1.Stage) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[types.NamespacedName]writtenStage{}
	}
	w.m[types.NamespacedName{Namespace: s.Namespace, Name: s.Name}] = writtenStage{replaced: replaced, stage: s.DeepCopy()}
}

// latest returns the newest known version of the cached Stage: the object of the last
// write when the cache still holds the version that write replaced, else cached. Once
// the cache has caught up (or someone else changed the Stage) the memory is dropped.
func (w *writtenStages) latest(cached *haulv1.Stage) *haulv1.Stage {
	key := types.NamespacedName{Namespace: cached.Namespace, Name: cached.Name}
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.m[key]
	if !ok {
		return cached
	}
	if cached.ResourceVersion == e.replaced {
		return e.stage.DeepCopy()
	}
	delete(w.m, key)
	return cached
}

// forget drops what is remembered about a Stage (it was deleted).
func (w *writtenStages) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, key)
}
