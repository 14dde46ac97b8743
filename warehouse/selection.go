package warehouse

import (
	"container/heap"
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// maxTagLength is the longest tag the OCI distribution spec allows; anything longer is
// not a real tag and is ignored before any parsing.
const maxTagLength = 128

// Strategy orders candidate tags.
type Strategy string

// Tag ordering strategies shared by images, Git tags and charts.
const (
	// StrategySemVer orders by semantic version, newest first.
	StrategySemVer Strategy = "SemVer"
	// StrategyLexical orders by byte-wise string order, greatest first.
	StrategyLexical Strategy = "Lexical"
)

// TagSelector picks the best tags out of a (possibly huge) stream of names. It keeps
// only the top Limit candidates in memory, so a registry with 100k tags costs a heap of
// Limit entries plus one parse per tag.
type TagSelector struct {
	Strategy Strategy
	// Constraint restricts SemVer candidates; nil accepts all versions.
	Constraint *semver.Constraints
	// Strict requires MAJOR.MINOR.PATCH (an optional leading "v" is accepted).
	Strict bool
	Allow  []*regexp.Regexp
	Ignore []*regexp.Regexp
	// Limit is how many tags to keep (at least 1).
	Limit int
}

// TagSelectorOptions is the user-facing form of a TagSelector; NewTagSelector validates it.
type TagSelectorOptions struct {
	Strategy          Strategy
	Constraint        string
	Strict            bool
	AllowTagsRegexes  []string
	IgnoreTagsRegexes []string
	Limit             int
	// FieldPrefix names the subscription in errors, e.g. spec.subscriptions[0].image.
	FieldPrefix    string
	ConstraintName string
}

// NewTagSelector compiles regexes and the constraint, reporting InvalidConstraintError
// with the field path when one does not parse.
func NewTagSelector(o TagSelectorOptions) (*TagSelector, error) {
	s := &TagSelector{Strategy: o.Strategy, Strict: o.Strict, Limit: o.Limit}
	if s.Strategy == "" {
		s.Strategy = StrategySemVer
	}
	if s.Limit <= 0 {
		s.Limit = 20
	}
	cname := o.ConstraintName
	if cname == "" {
		cname = "constraint"
	}
	if o.Constraint != "" && s.Strategy == StrategySemVer {
		c, err := semver.NewConstraint(o.Constraint)
		if err != nil {
			return nil, &InvalidConstraintError{Field: join(o.FieldPrefix, cname), Value: o.Constraint, Err: err}
		}
		s.Constraint = c
	}
	var err error
	if s.Allow, err = compileAll(o.AllowTagsRegexes, join(o.FieldPrefix, "allowTagsRegexes")); err != nil {
		return nil, err
	}
	if s.Ignore, err = compileAll(o.IgnoreTagsRegexes, join(o.FieldPrefix, "ignoreTagsRegexes")); err != nil {
		return nil, err
	}
	return s, nil
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

func compileAll(exprs []string, field string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(exprs))
	for i, e := range exprs {
		re, err := regexp.Compile(e)
		if err != nil {
			return nil, &InvalidConstraintError{Field: fmt.Sprintf("%s[%d]", field, i), Value: e, Err: err}
		}
		out = append(out, re)
	}
	return out, nil
}

// Allowed applies the length cap and the allow/ignore regexes, without any ordering.
func (s *TagSelector) Allowed(tag string) bool {
	if tag == "" || len(tag) > maxTagLength {
		return false
	}
	if len(s.Allow) > 0 {
		ok := false
		for _, re := range s.Allow {
			if re.MatchString(tag) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, re := range s.Ignore {
		if re.MatchString(tag) {
			return false
		}
	}
	return true
}

// ParseVersion parses tag as a semantic version under the strictness rule; it returns
// nil for anything that is not one.
func ParseVersion(tag string, strict bool) *semver.Version {
	if tag == "" || len(tag) > maxTagLength {
		return nil
	}
	if strict {
		v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
		if err != nil {
			return nil
		}
		return v
	}
	v, err := semver.NewVersion(tag)
	if err != nil {
		return nil
	}
	return v
}

// Select returns the best tags, best first, at most s.Limit of them.
func (s *TagSelector) Select(tags []string) []string {
	c := s.Collector()
	for _, t := range tags {
		c.Add(t)
	}
	return c.Result()
}

// Collector returns an incremental selector: feed it pages of tags with Add, then read
// Result. Memory stays bounded by Limit.
func (s *TagSelector) Collector() *Collector {
	return &Collector{s: s, h: &candHeap{}}
}

// Collector accumulates the top tags of a stream; see TagSelector.Collector.
type Collector struct {
	s    *TagSelector
	h    *candHeap
	seen int
}

type candidate struct {
	tag string
	ver *semver.Version
}

// better reports whether a ranks above b.
func better(a, b candidate) bool {
	if a.ver != nil && b.ver != nil {
		if c := a.ver.Compare(b.ver); c != 0 {
			return c > 0
		}
	}
	return a.tag > b.tag
}

// candHeap is a min-heap by rank, so the worst kept candidate is at the root.
type candHeap []candidate

func (h candHeap) Len() int           { return len(h) }
func (h candHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h candHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)        { *h = append(*h, x.(candidate)) }
func (h *candHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	*h = old[:n-1]
	return x
}

// Add offers one tag.
func (c *Collector) Add(tag string) {
	c.seen++
	if !c.s.Allowed(tag) {
		return
	}
	cand := candidate{tag: tag}
	if c.s.Strategy == StrategySemVer {
		v := ParseVersion(tag, c.s.Strict)
		if v == nil {
			return
		}
		if c.s.Constraint != nil && !c.s.Constraint.Check(v) {
			return
		}
		cand.ver = v
	}
	if c.h.Len() < c.s.Limit {
		heap.Push(c.h, cand)
		return
	}
	if better(cand, (*c.h)[0]) {
		(*c.h)[0] = cand
		heap.Fix(c.h, 0)
	}
}

// Seen is how many tags were offered, accepted or not.
func (c *Collector) Seen() int { return c.seen }

// Result returns the kept tags, best first. The collector can keep accepting tags.
func (c *Collector) Result() []string {
	h := make(candHeap, len(*c.h))
	copy(h, *c.h)
	out := make([]string, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(candidate).tag
	}
	return out
}
