package warehouse

import (
	"sync"
	"time"
)

// imageMeta is what Haul needs to know about one manifest digest for one platform. It
// is an immutable fact: a digest names fixed content.
type imageMeta struct {
	// ok is false when the manifest has no image for the requested platform.
	ok          bool
	createdAt   time.Time
	annotations map[string]string
}

// imageCache remembers tag→digest for tags treated as immutable (every strategy but
// Digest) and digest→metadata, so a quiet poll costs one tag-list request. It is
// bounded: when full it is simply dropped, which only costs a re-fetch.
type imageCache struct {
	mu     sync.RWMutex
	max    int
	tags   map[string]string
	digest map[string]imageMeta
}

func newImageCache(max int) *imageCache {
	return &imageCache{max: max, tags: map[string]string{}, digest: map[string]imageMeta{}}
}

func (c *imageCache) tag(key string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	d, ok := c.tags[key]
	return d, ok
}

func (c *imageCache) setTag(key, digest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tags) >= c.max {
		c.tags = map[string]string{}
	}
	c.tags[key] = digest
}

func (c *imageCache) meta(key string) (imageMeta, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m, ok := c.digest[key]
	return m, ok
}

func (c *imageCache) setMeta(key string, m imageMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.digest) >= c.max {
		c.digest = map[string]imageMeta{}
	}
	c.digest[key] = m
}
