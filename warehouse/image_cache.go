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
// Digest) and digest→metadata, so a quiet poll costs one tag-list request. Tag entries
// expire after ttl, so a tag that was pushed again is noticed eventually; digest
// entries never expire, a digest names fixed content. The cache is bounded: when full
// it is simply dropped, which only costs a re-fetch.
type imageCache struct {
	mu     sync.RWMutex
	max    int
	ttl    time.Duration
	now    func() time.Time
	tags   map[string]tagEntry
	digest map[string]imageMeta
}

type tagEntry struct {
	digest string
	at     time.Time
}

func newImageCache(max int, ttl time.Duration, now func() time.Time) *imageCache {
	return &imageCache{max: max, ttl: ttl, now: now, tags: map[string]tagEntry{}, digest: map[string]imageMeta{}}
}

func (c *imageCache) tag(key string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.tags[key]
	if !ok || c.now().Sub(e.at) > c.ttl {
		return "", false
	}
	return e.digest, true
}

func (c *imageCache) setTag(key, digest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tags) >= c.max {
		c.tags = map[string]tagEntry{}
	}
	c.tags[key] = tagEntry{digest: digest, at: c.now()}
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
