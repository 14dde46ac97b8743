package warehouse

import (
	"fmt"
	"reflect"
	"testing"
)

func TestTagSelection(t *testing.T) {
	tags := []string{
		"1.0.0", "1.2.3", "v1.2.4", "1.10.0", "2.0.0-rc.1", "1.2", "latest", "v1.2", "1.2.3-rc.1+build",
		"１.２.３", "main-abc123", "main-def456", "2.0.0",
	}
	tests := map[string]struct {
		opts TagSelectorOptions
		want []string
	}{
		"semver strict orders newest first and drops non-semver": {
			opts: TagSelectorOptions{Strategy: StrategySemVer, Strict: true, Limit: 20},
			want: []string{"2.0.0", "2.0.0-rc.1", "1.10.0", "v1.2.4", "1.2.3", "1.2.3-rc.1+build", "1.0.0"},
		},
		"semver non-strict accepts MAJOR.MINOR": {
			opts: TagSelectorOptions{Strategy: StrategySemVer, Strict: false, Limit: 4},
			want: []string{"2.0.0", "2.0.0-rc.1", "1.10.0", "v1.2.4"},
		},
		"semver constraint": {
			opts: TagSelectorOptions{Strategy: StrategySemVer, Strict: true, Constraint: "~1.2", Limit: 20},
			want: []string{"v1.2.4", "1.2.3"},
		},
		"semver constraint excluding prereleases by default": {
			opts: TagSelectorOptions{Strategy: StrategySemVer, Strict: true, Constraint: ">=2.0.0-0", Limit: 20},
			want: []string{"2.0.0", "2.0.0-rc.1"},
		},
		"discovery limit keeps the best": {
			opts: TagSelectorOptions{Strategy: StrategySemVer, Strict: true, Limit: 1},
			want: []string{"2.0.0"},
		},
		"lexical": {
			opts: TagSelectorOptions{Strategy: StrategyLexical, Limit: 3, AllowTagsRegexes: []string{"^main-"}},
			want: []string{"main-def456", "main-abc123"},
		},
		"ignore regexes": {
			opts: TagSelectorOptions{Strategy: StrategySemVer, Strict: true, Limit: 20, IgnoreTagsRegexes: []string{"-rc", "^v"}},
			want: []string{"2.0.0", "1.10.0", "1.2.3", "1.0.0"},
		},
		"allow and ignore together": {
			opts: TagSelectorOptions{Strategy: StrategyLexical, Limit: 20, AllowTagsRegexes: []string{`^1\.`}, IgnoreTagsRegexes: []string{`rc`}},
			want: []string{"1.2.3", "1.2", "1.10.0", "1.0.0"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := NewTagSelector(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Select(tags); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTagSelectorRejectsBadInput(t *testing.T) {
	for _, c := range []string{">=1.x.y", "~>", ">= 1.0.0 <<", "!!"} {
		_, err := NewTagSelector(TagSelectorOptions{Strategy: StrategySemVer, Constraint: c, FieldPrefix: "spec.subscriptions[0].image"})
		if !IsInvalidConstraint(err) {
			t.Errorf("constraint %q: got %v, want InvalidConstraintError", c, err)
			continue
		}
		want := fmt.Sprintf("invalid spec.subscriptions[0].image.constraint %q", c)
		if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("error %q does not name the field and value", got)
		}
	}
	if _, err := NewTagSelector(TagSelectorOptions{AllowTagsRegexes: []string{"("}}); !IsInvalidConstraint(err) {
		t.Errorf("bad regex: got %v", err)
	}
}
