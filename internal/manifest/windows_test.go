package manifest

import (
	"strings"
	"testing"
)

// TestPromotionWindowsRefusedAtApply: a window whose rrule, dtstart or dtend cannot be
// parsed is refused before anything is applied, naming the field and the value; in a
// ProjectConfig and in the ClusterConfig, in Haul's and in Kargo's apiVersion.
func TestPromotionWindowsRefusedAtApply(t *testing.T) {
	doc := func(apiVersion, kind, window string) string {
		meta := "{name: demo, namespace: demo}"
		if kind == "ClusterConfig" {
			meta = "{name: cluster}"
		}
		return "apiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata: " + meta + "\nspec:\n  promotionWindows:\n  - " + window + "\n"
	}
	good := `{name: office, kind: Allow, rrule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH", dtstart: "TZID=Europe/Berlin:20260105T090000", dtend: "TZID=Europe/Berlin:20260105T170000"}`
	cases := map[string]struct {
		window, want string
	}{
		"bad rrule":     {strings.Replace(good, "FREQ=WEEKLY", "FREQ=FORTNIGHTLY", 1), `spec.promotionWindows[0].rrule "FREQ=FORTNIGHTLY;BYDAY=MO,TU,WE,TH"`},
		"bad zone":      {strings.Replace(good, "TZID=Europe/Berlin:20260105T090000", "TZID=Europe/Bérlin:20260105T090000", 1), `spec.promotionWindows[0].dtstart "TZID=Europe/Bérlin:20260105T090000": unknown time zone`},
		"end not after": {strings.Replace(good, "20260105T170000", "20260105T080000", 1), `spec.promotionWindows[0].dtend "TZID=Europe/Berlin:20260105T080000": must be after dtstart`},
	}
	for _, api := range []string{"haul.dev/v1alpha1", "kargo.akuity.io/v1alpha1"} {
		for _, kind := range []string{"ProjectConfig", "ClusterConfig"} {
			if _, err := Validate(load(t, doc(api, kind, good)), Cluster{}); err != nil {
				t.Fatalf("%s %s: a good window is refused: %v", api, kind, err)
			}
			for name, tc := range cases {
				t.Run(api+" "+kind+" "+name, func(t *testing.T) {
					_, err := Validate(load(t, doc(api, kind, tc.window)), Cluster{})
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("want an error containing %q, got %v", tc.want, err)
					}
				})
			}
		}
	}
}
