package pipeline

import (
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// CurrentFreight is the name of the Freight of the given origin that Stage s holds now
// (the newest entry of its freightHistory), or "" when it holds none.
func CurrentFreight(s *haulv1.Stage, origin haulv1.FreightOrigin) string {
	if len(s.Status.FreightHistory) == 0 {
		return ""
	}
	return s.Status.FreightHistory[0].Items[origin.String()].Name
}

// Candidate picks the Freight auto-promotion should move to Stage s for one of its
// requests, or nil when there is none. freight may hold Freight of any origin; only
// req's origin is considered. upstream maps Stage names to Stages and is consulted only
// for the MatchUpstream policy.
//
//   - NewestFreight (default): the newest available Freight (creation time, then name).
//   - MatchUpstream: the Freight the single upstream Stage holds now, if available.
func Candidate(s *haulv1.Stage, req *haulv1.FreightRequest, freight []*haulv1.Freight, upstream map[string]*haulv1.Stage, now time.Time) *haulv1.Freight {
	policy := haulv1.SelectNewestFreight
	if o := req.Sources.AutoPromotionOptions; o != nil && o.SelectionPolicy != "" {
		policy = o.SelectionPolicy
	}
	if policy == haulv1.SelectMatchUpstream {
		if req.Sources.Direct || len(req.Sources.Stages) != 1 {
			return nil
		}
		up := upstream[req.Sources.Stages[0]]
		if up == nil {
			return nil
		}
		want := CurrentFreight(up, req.Origin)
		if want == "" {
			return nil
		}
		for _, f := range freight {
			if f.Name == want && f.Origin == req.Origin {
				if ok, _ := IsAvailable(f, s, now); ok {
					return f
				}
				return nil
			}
		}
		return nil
	}

	var best *haulv1.Freight
	for _, f := range freight {
		if f.Origin != req.Origin || (best != nil && !newer(f, best)) {
			continue
		}
		if ok, _ := IsAvailable(f, s, now); ok {
			best = f
		}
	}
	return best
}

// newer orders Freight by creation time, then name, so the choice is deterministic.
func newer(a, b *haulv1.Freight) bool {
	ta, tb := CreatedAt(a), CreatedAt(b)
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	return a.Name > b.Name
}

// CreatedAt is when Freight was minted: the haul.dev/created-at annotation (nanosecond
// resolution) when it parses and agrees with creationTimestamp to the second, else
// creationTimestamp itself.
func CreatedAt(f *haulv1.Freight) time.Time {
	ct := f.CreationTimestamp.Time
	if v, ok := f.Annotations[haulv1.AnnotationCreatedAt]; ok {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil && (ct.IsZero() || t.Sub(ct).Abs() < 2*time.Second) {
			return t
		}
	}
	return ct
}

// Available lists the Freight in freight that is available to Stage s, in input order.
func Available(s *haulv1.Stage, freight []*haulv1.Freight, now time.Time) []*haulv1.Freight {
	var out []*haulv1.Freight
	for _, f := range freight {
		if ok, _ := IsAvailable(f, s, now); ok {
			out = append(out, f)
		}
	}
	return out
}
