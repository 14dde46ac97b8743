package promotion

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/haul-dev/haul/promotion"
)

// runningSecrets keeps, in memory only, each running Promotion's promotion.Secrets: the
// secret values its messages are masked with and the real values of its outputs that
// the status holds masked. Nothing here is ever written to the API server; after a
// restart a Promotion starts with an empty one (see promotion.Secrets). The zero value
// is ready to use.
type runningSecrets struct {
	mu sync.Mutex
	m  map[types.UID]*promotion.Secrets
}

// get returns the Promotion's Secrets, creating it on first use.
func (s *runningSecrets) get(uid types.UID) *promotion.Secrets {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[types.UID]*promotion.Secrets{}
	}
	sec, ok := s.m[uid]
	if !ok {
		sec = promotion.NewSecrets()
		s.m[uid] = sec
	}
	return sec
}

// mask masks msg with the Promotion's known secret values, if any, and always strips
// credential-looking text.
func (s *runningSecrets) mask(uid types.UID, msg string) string {
	s.mu.Lock()
	sec := s.m[uid]
	s.mu.Unlock()
	return sec.Mask(msg)
}

// forget drops a finished Promotion's Secrets.
func (s *runningSecrets) forget(uid types.UID) {
	s.mu.Lock()
	delete(s.m, uid)
	s.mu.Unlock()
}
