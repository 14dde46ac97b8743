package stage

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func promo(name string, created, finished int, phase haulv1.PromotionPhase, freight string) *haulv1.Promotion {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(base.Add(time.Duration(created) * time.Second))},
		Spec:       haulv1.PromotionSpec{Stage: "test", Freight: freight},
		Status:     haulv1.PromotionStatus{Phase: phase},
	}
	if phase.IsTerminal() {
		t := metav1.NewTime(base.Add(time.Duration(finished) * time.Second))
		p.Status.FinishedAt = &t
	}
	if phase != haulv1.PromotionPending {
		p.Status.Freight = &haulv1.FreightReference{Name: freight, Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"}}
	}
	return p
}

func TestRecordPromotionsTurnsPromotionsIntoStageStatus(t *testing.T) {
	for name, tc := range map[string]struct {
		history  []string // promotions already in the history, newest first
		last     string   // status.lastPromotion before
		promos   []*haulv1.Promotion
		current  string
		wantLast string
		want     []string // history after, newest first
	}{
		"a success enters the history and becomes the last promotion": {
			promos:   []*haulv1.Promotion{promo("a", 0, 5, haulv1.PromotionSucceeded, "f1")},
			wantLast: "a", want: []string{"a"},
		},
		"failures are last but never in the history": {
			history: []string{"a"},
			promos: []*haulv1.Promotion{
				promo("a", 0, 5, haulv1.PromotionSucceeded, "f1"),
				promo("b", 6, 9, haulv1.PromotionFailed, "f2"),
			},
			wantLast: "b", want: []string{"a"},
		},
		"two successes in the same second keep the order they ran in": {
			promos: []*haulv1.Promotion{
				promo("zz", 1, 3, haulv1.PromotionSucceeded, "f1"),
				promo("aa", 2, 3, haulv1.PromotionSucceeded, "f2"),
			},
			wantLast: "aa", want: []string{"aa", "zz"},
		},
		"a promotion created and finished in the same second as the one before it runs after it (the lock's sequence)": {
			history: []string{"test.auto.f2.1"},
			promos: []*haulv1.Promotion{
				withSequence(promo("test.auto.f2.1", 1, 3, haulv1.PromotionSucceeded, "f2"), 1),
				withSequence(promo("test.01m8manual", 1, 3, haulv1.PromotionSucceeded, "f1"), 2),
			},
			wantLast: "test.01m8manual", want: []string{"test.01m8manual", "test.auto.f2.1"},
		},
		"a running promotion is current": {
			history: []string{"a"}, last: "a",
			promos: []*haulv1.Promotion{
				promo("a", 0, 5, haulv1.PromotionSucceeded, "f1"),
				promo("b", 6, 0, haulv1.PromotionRunning, "f2"),
				promo("c", 7, 0, haulv1.PromotionPending, "f3"),
			},
			current: "b", wantLast: "a", want: []string{"a"},
		},
		"a deleted last promotion stays recorded": {
			history: []string{"gone"}, last: "gone",
			want: []string{"gone"}, wantLast: "gone",
		},
		"an old success that fell out of the history is not brought back": {
			history: []string{"new"},
			promos: []*haulv1.Promotion{
				promo("old", 0, 2, haulv1.PromotionSucceeded, "f1"),
				promo("new", 3, 8, haulv1.PromotionSucceeded, "f2"),
			},
			wantLast: "new", want: []string{"new"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := &haulv1.Stage{}
			for _, h := range tc.history {
				at := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 8, 0, time.UTC))
				s.Status.FreightHistory = append(s.Status.FreightHistory, haulv1.FreightCollection{Promotion: h, PromotedAt: &at})
			}
			if tc.last != "" {
				at := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 5, 0, time.UTC))
				s.Status.LastPromotion = &haulv1.PromotionReference{Name: tc.last, FinishedAt: &at}
			}
			rec := recordPromotions(s, tc.promos)
			rec.apply(s)
			rec.apply(s) // applied again after a conflict: nothing doubles
			if got := refName(s.Status.CurrentPromotion); got != tc.current {
				t.Errorf("currentPromotion = %q, want %q", got, tc.current)
			}
			if got := refName(s.Status.LastPromotion); got != tc.wantLast {
				t.Errorf("lastPromotion = %q, want %q", got, tc.wantLast)
			}
			var got []string
			for _, c := range s.Status.FreightHistory {
				got = append(got, c.Promotion)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("history = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("history = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func withSequence(p *haulv1.Promotion, seq int64) *haulv1.Promotion {
	p.Status.Sequence = seq
	return p
}

func refName(r *haulv1.PromotionReference) string {
	if r == nil {
		return ""
	}
	return r.Name
}
