package pipeline

import (
	"testing"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// FuzzEvaluateWindows feeds users' rrule, dtstart and dtend values to the parser and
// the evaluation: neither may panic, and a window that parses evaluates to a state
// whose next change lies after now.
func FuzzEvaluateWindows(f *testing.F) {
	f.Add("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH", "TZID=Europe/Berlin:20260105T090000", "TZID=Europe/Berlin:20260105T170000", true)
	f.Add("", "20261224T000000Z", "20261227T000000Z", false)
	f.Add("FREQ=DAILY;COUNT=3", "20260101", "20260102", true)
	f.Add("FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20270101T000000Z", "TZID=America/New_York:20260131T230000", "TZID=America/New_York:20260201T010000", false)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, rule, start, end string, allow bool) {
		kind := haulv1.PromotionWindowDeny
		if allow {
			kind = haulv1.PromotionWindowAllow
		}
		st := EvaluateWindows([]haulv1.PromotionWindow{{Name: "w", Kind: kind, RRule: rule, DTStart: start, DTEnd: end}}, now)
		for _, next := range []time.Time{st.NextOpen, st.NextClose} {
			if !next.IsZero() && !next.After(now) {
				t.Fatalf("next change %s is not after now %s (%+v)", next, now, st)
			}
		}
		if st.Open == (st.Reason() != "") {
			t.Fatalf("open=%v but reason %q", st.Open, st.Reason())
		}
	})
}
