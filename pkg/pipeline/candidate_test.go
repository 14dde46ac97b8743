package pipeline

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func holding(name string, f *haulv1.Freight) *haulv1.Stage {
	s := stage(name, direct(wh))
	s.Status.FreightHistory = []haulv1.FreightCollection{{
		ID:    f.Name,
		Items: map[string]haulv1.FreightReference{f.Origin.String(): {Name: f.Name, Origin: f.Origin}},
	}}
	return s
}

func TestCandidate(t *testing.T) {
	old := freight("old", wh, 2*time.Hour, verifiedIn("test"))
	mid := freight("mid", wh, time.Hour, verifiedIn("test"))
	fresh := freight("fresh", wh, time.Minute)
	foreign := freight("foreign", otherW, 0, verifiedIn("test"))
	all := []*haulv1.Freight{old, mid, fresh, foreign}

	matchUpstream := from(wh, "", 0, "test")
	matchUpstream.Sources.AutoPromotionOptions = &haulv1.AutoPromotionOptions{SelectionPolicy: haulv1.SelectMatchUpstream}

	tests := []struct {
		name     string
		stage    *haulv1.Stage
		upstream map[string]*haulv1.Stage
		want     string
	}{
		{"NewestFreight on a direct stage takes the newest of the origin", stage("test", direct(wh)), nil, "fresh"},
		{"NewestFreight downstream takes the newest verified upstream", stage("uat", from(wh, "", 0, "test")), nil, "mid"},
		{"nothing available means no candidate", stage("uat", from(wh, "", 0, "nowhere")), nil, ""},
		{"MatchUpstream follows what the upstream holds, even if older",
			stage("uat", matchUpstream), map[string]*haulv1.Stage{"test": holding("test", old)}, "old"},
		{"MatchUpstream ignores unverified Freight held upstream",
			stage("uat", matchUpstream), map[string]*haulv1.Stage{"test": holding("test", fresh)}, ""},
		{"MatchUpstream with an empty upstream has no candidate",
			stage("uat", matchUpstream), map[string]*haulv1.Stage{"test": stage("test", direct(wh))}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Candidate(tt.stage, &tt.stage.Spec.RequestedFreight[0], all, tt.upstream, now)
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tt.want {
				t.Errorf("Candidate = %q, want %q", name, tt.want)
			}
		})
	}
}

func TestCandidateTieBreaksByName(t *testing.T) {
	a := freight("aaa", wh, time.Minute)
	b := freight("bbb", wh, time.Minute)
	s := stage("test", direct(wh))
	if got := Candidate(s, &s.Spec.RequestedFreight[0], []*haulv1.Freight{b, a}, nil, now); got.Name != "bbb" {
		t.Errorf("Candidate = %s, want bbb", got.Name)
	}
}

func TestNewestFreightOrdersWithinOneSecond(t *testing.T) {
	sec := metav1.NewTime(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	mk := func(name, at string) *haulv1.Freight {
		f := &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: sec,
			Annotations: map[string]string{haulv1.AnnotationCreatedAt: at}},
			Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"}}
		return f
	}
	// The later Freight has the lexically smaller name: only the annotation can order them.
	older := mk("ffff", "2026-01-01T10:00:00.100Z")
	newerF := mk("0000", "2026-01-01T10:00:00.900Z")
	if !newer(newerF, older) || newer(older, newerF) {
		t.Fatalf("Freight minted 800ms later does not sort as newer")
	}
	// An annotation far from creationTimestamp (edited by hand) is ignored.
	forged := mk("aaaa", "2030-01-01T00:00:00Z")
	if CreatedAt(forged) != sec.Time {
		t.Fatalf("a forged created-at was trusted: %v", CreatedAt(forged))
	}
}
