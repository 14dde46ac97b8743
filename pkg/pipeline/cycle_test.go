package pipeline

import (
	"fmt"
	"slices"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func TestFindCycle(t *testing.T) {
	s := func(name string, ups ...string) haulv1.Stage {
		if len(ups) == 0 {
			return *stage(name, direct(wh))
		}
		return *stage(name, from(wh, "", 0, ups...))
	}
	tests := []struct {
		name   string
		stages []haulv1.Stage
		want   map[string][]string
	}{
		{"a linear pipeline has no cycle",
			[]haulv1.Stage{s("test"), s("uat", "test"), s("prod", "uat")}, map[string][]string{}},
		{"fan-out and fan-in is not a cycle",
			[]haulv1.Stage{s("test"), s("eu", "test"), s("us", "test"), s("prod", "eu", "us")}, map[string][]string{}},
		{"self reference",
			[]haulv1.Stage{s("test", "test")}, map[string][]string{"test": {"test", "test"}}},
		{"two stages referencing each other",
			[]haulv1.Stage{s("a", "b"), s("b", "a")}, map[string][]string{"a": {"a", "b", "a"}, "b": {"b", "a", "b"}}},
		{"a three-stage loop below a healthy stage reports only the loop",
			[]haulv1.Stage{s("test"), s("a", "test", "c"), s("b", "a"), s("c", "b"), s("prod", "c")},
			map[string][]string{"a": {"a", "c", "b", "a"}, "b": {"b", "a", "c", "b"}, "c": {"c", "b", "a", "c"}}},
		{"references to unknown stages are ignored",
			[]haulv1.Stage{s("uat", "missing")}, map[string][]string{}},
		{"a proposed edit replaces the stored stage of the same name",
			[]haulv1.Stage{s("test"), s("uat", "test"), s("test", "uat")}, map[string][]string{"test": {"test", "uat", "test"}, "uat": {"uat", "test", "uat"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FindCycle(tt.stages)
			if len(got) != len(tt.want) {
				t.Fatalf("FindCycle = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if !slices.Equal(got[k], v) {
					t.Errorf("cycle of %s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
	if got := FormatCycle([]string{"a", "b", "a"}); got != "a -> b -> a" {
		t.Errorf("FormatCycle = %q", got)
	}
}

func TestFindCycleLongChainDoesNotOverflow(t *testing.T) {
	var stages []haulv1.Stage
	stages = append(stages, *stage("s0", direct(wh)))
	for i := 1; i < 2000; i++ {
		stages = append(stages, *stage(fmt.Sprintf("s%d", i), from(wh, "", 0, fmt.Sprintf("s%d", i-1))))
	}
	stages[0] = *stage("s0", from(wh, "", 0, "s1999"))
	got := FindCycle(stages)
	if len(got) != 2000 || len(got["s0"]) != 2001 {
		t.Fatalf("want every stage on one 2000-long cycle, got %d stages, path %d", len(got), len(got["s0"]))
	}
}
