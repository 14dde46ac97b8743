package promotion_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

var flakyCalls, runningCalls atomic.Int32

func init() {
	// test-flaky fails transiently twice, then succeeds.
	testSteps.Register("test-flaky", func() promotion.Step {
		return promotion.StepFunc(func(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
			if flakyCalls.Add(1) <= 2 {
				return promotion.StepResult{}, errors.New("connection reset")
			}
			return promotion.StepResult{Output: map[string]any{"ok": true}}, nil
		})
	})
	testSteps.Register("test-terminal", func() promotion.Step {
		return promotion.StepFunc(func(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
			return promotion.StepResult{}, promotion.Terminal(errors.New("merge conflict"))
		})
	})
	testSteps.Register("test-running", func() promotion.Step {
		return promotion.StepFunc(func(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
			runningCalls.Add(1)
			return promotion.StepResult{Status: promotion.StatusRunning, Message: "waiting for sync", RequeueAfter: time.Millisecond}, nil
		})
	})
	testSteps.Register("test-panic", func() promotion.Step {
		return promotion.StepFunc(func(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
			var m map[string]int
			m["boom"]++ //nolint:staticcheck // the nil map write is the panic under test
			return promotion.StepResult{}, nil
		})
	})
}

func TestRetryErrorThreshold(t *testing.T) {
	flakyCalls.Store(0)
	steps := []haulv1.PromotionStep{{Uses: "test-flaky", As: "f", Retry: &haulv1.StepRetry{ErrorThreshold: 3}}}
	e := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{}}
	var st promotion.State
	var res promotion.Result
	for range 5 {
		res, st = e.Run(context.Background(), promotion.Request{Steps: steps, WorkDir: t.TempDir(), State: st})
		if res.Phase != haulv1.PromotionRunning {
			break
		}
	}
	if res.Phase != haulv1.PromotionSucceeded || flakyCalls.Load() != 3 {
		t.Fatalf("phase %s after %d calls: %s", res.Phase, flakyCalls.Load(), res.Message)
	}
	// With the default threshold of 1 the first error fails the step.
	flakyCalls.Store(0)
	res, _ = e.Run(context.Background(), promotion.Request{Steps: []haulv1.PromotionStep{{Uses: "test-flaky"}}, WorkDir: t.TempDir()})
	if res.Phase != haulv1.PromotionErrored {
		t.Fatalf("phase %s, want Errored", res.Phase)
	}
	// Terminal errors ignore the threshold.
	res, _ = e.Run(context.Background(), promotion.Request{Steps: []haulv1.PromotionStep{{Uses: "test-terminal", Retry: &haulv1.StepRetry{ErrorThreshold: 10}}}, WorkDir: t.TempDir()})
	if res.Phase != haulv1.PromotionErrored {
		t.Fatalf("terminal: phase %s, want Errored", res.Phase)
	}
}

func TestRunningStepTimesOut(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	e := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{Now: clock}}
	steps := []haulv1.PromotionStep{{Uses: "test-running", As: "sync", Retry: &haulv1.StepRetry{Timeout: &metav1.Duration{Duration: time.Minute}}}}
	res, st := e.Run(context.Background(), promotion.Request{Steps: steps, WorkDir: t.TempDir()})
	if res.Phase != haulv1.PromotionRunning || st.Steps[0].Status != promotion.StatusRunning {
		t.Fatalf("phase %s step %s, want Running", res.Phase, st.Steps[0].Status)
	}
	now = now.Add(30 * time.Second)
	if res, st = e.Run(context.Background(), promotion.Request{Steps: steps, WorkDir: t.TempDir(), State: st}); res.Phase != haulv1.PromotionRunning {
		t.Fatalf("still within the timeout: %s", res.Phase)
	}
	now = now.Add(time.Minute)
	res, st = e.Run(context.Background(), promotion.Request{Steps: steps, WorkDir: t.TempDir(), State: st})
	if res.Phase != haulv1.PromotionFailed || st.Steps[0].Status != promotion.StatusFailed {
		t.Fatalf("after the timeout: %s %s: %s", res.Phase, st.Steps[0].Status, res.Message)
	}
}

func TestAbortWhileRunning(t *testing.T) {
	e := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{}}
	steps := []haulv1.PromotionStep{{Uses: "test-running", As: "sync"}}
	_, st := e.Run(context.Background(), promotion.Request{Steps: steps, WorkDir: t.TempDir()})
	res, st := e.Run(context.Background(), promotion.Request{Steps: steps, WorkDir: t.TempDir(), State: st,
		Aborted: func(context.Context) bool { return true }})
	if res.Phase != haulv1.PromotionAborted || st.Steps[0].Status != promotion.StatusAborted {
		t.Fatalf("phase %s step %s", res.Phase, st.Steps[0].Status)
	}
}

func TestPanickingStepIsRecorded(t *testing.T) {
	res, st := runIn(t, t.TempDir(), freight("1"), nil, haulv1.PromotionStep{Uses: "test-panic", As: "p"})
	if res.Phase != haulv1.PromotionErrored || st.Steps[0].Status != promotion.StatusErrored {
		t.Fatalf("phase %s: %s", res.Phase, res.Message)
	}
}

func TestTasksExpandWithNamespacedOutputs(t *testing.T) {
	task := &haulv1.PromotionTaskSpec{
		Vars: []haulv1.Var{{Name: "greeting", Value: "hello"}, {Name: "target", Value: "default"}},
		Steps: []haulv1.PromotionStep{
			step("compose-output", "first", map[string]any{"msg": "${{ vars.greeting }} ${{ vars.target }}"}),
			step("compose-output", "second", map[string]any{"echo": "${{ task.outputs.first.msg }}"}),
		},
	}
	get := func(_ context.Context, kind haulv1.PromotionTaskKind, name string) (*haulv1.PromotionTaskSpec, error) {
		if name != "greet" {
			return nil, errors.New("not found")
		}
		return task, nil
	}
	steps := []haulv1.PromotionStep{
		{Task: &haulv1.PromotionTaskReference{Name: "greet"}, As: "t", Vars: []haulv1.Var{{Name: "target", Value: "world"}}},
		step("compose-output", "after", map[string]any{"v": "${{ outputs['t::second'].echo }}"}),
	}
	globals := []haulv1.Var{{Name: "greeting", Value: "hi"}}
	expanded, err := promotion.ExpandTasks(context.Background(), steps, globals, get)
	if err != nil {
		t.Fatal(err)
	}
	if len(expanded) != 3 || expanded[0].As != "t::first" || expanded[1].As != "t::second" {
		t.Fatalf("expanded: %+v", expanded)
	}
	e := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{}}
	res, st := e.Run(context.Background(), promotion.Request{Steps: expanded, Vars: globals, WorkDir: t.TempDir()})
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	// Promotion-level vars beat task defaults; the task step's vars beat both.
	if got := st.Outputs["after"].(map[string]any)["v"]; got != "hi world" {
		t.Fatalf("task output %q, want %q", got, "hi world")
	}
}

// TestComposeOutputInATaskIsTheTaskStepsOutput: as in Kargo, what a compose-output
// step inside a task outputs is also outputs.<task step's alias>, so the steps after the
// task read it without knowing the task's own step aliases; other steps' outputs stay
// under <task>::<step> only, and a later compose-output's keys win.
func TestComposeOutputInATaskIsTheTaskStepsOutput(t *testing.T) {
	task := &haulv1.PromotionTaskSpec{Steps: []haulv1.PromotionStep{
		step("compose-output", "first", map[string]any{"image": "app:1.0", "tag": "old"}),
		step("file-write", "write", map[string]any{"path": "x.json", "contents": `{"a": "from-json"}`}),
		step("json-parse", "parse", map[string]any{"path": "x.json", "outputs": []any{map[string]any{"name": "parsed", "fromExpression": "a"}}}),
		step("compose-output", "second", map[string]any{"tag": "1.0"}),
	}}
	get := func(context.Context, haulv1.PromotionTaskKind, string) (*haulv1.PromotionTaskSpec, error) {
		return task, nil
	}
	steps := []haulv1.PromotionStep{
		{Task: &haulv1.PromotionTaskReference{Name: "render"}, As: "render"},
		step("compose-output", "after", map[string]any{
			"image": "${{ outputs.render.image }}", "tag": "${{ outputs['render'].tag }}",
			"parsed": "${{ 'parsed' in outputs.render }}", "inner": "${{ outputs['render::parse'].parsed }}"}),
	}
	expanded, err := promotion.ExpandTasks(context.Background(), steps, nil, get)
	if err != nil {
		t.Fatal(err)
	}
	e := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{}}
	res, st := e.Run(context.Background(), promotion.Request{Steps: expanded, WorkDir: t.TempDir()})
	if res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("%s: %s", res.Phase, res.Message)
	}
	got := st.Outputs["after"].(map[string]any)
	if got["image"] != "app:1.0" || got["tag"] != "1.0" || got["parsed"] != false || got["inner"] != "from-json" {
		t.Fatalf("after the task, outputs.render gave %v; want image app:1.0, tag 1.0 (the later compose-output), nothing of json-parse, which stays under render::parse", got)
	}
}

func TestNewNameSortsByCreation(t *testing.T) {
	a := promotion.NewName("test", "0123456789abcdef")
	time.Sleep(2 * time.Millisecond)
	b := promotion.NewName("test", "0123456789abcdef")
	if a >= b || len(a) != len("test.")+26+len(".0123456") {
		t.Fatalf("names %q %q", a, b)
	}
	if a != toLower(a) {
		t.Fatalf("name %q is not lowercase", a)
	}
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// TestStepDoneReportsEveryRun: the StepDone hook (metrics) hears of each step run with
// its kind and the status the run left it in, and not of skipped steps.
func TestStepDoneReportsEveryRun(t *testing.T) {
	type call struct {
		uses   string
		status haulv1.StepStatus
	}
	var calls []call
	e := &promotion.Engine{Registry: testSteps, StepDone: func(uses string, status haulv1.StepStatus, took time.Duration) {
		if took < 0 {
			t.Errorf("negative duration for %s", uses)
		}
		calls = append(calls, call{uses, status})
	}}
	steps := []haulv1.PromotionStep{
		{Uses: "compose-output", As: "a"},
		{Uses: "test-terminal", As: "b", ContinueOnError: true},
		{Uses: "compose-output", As: "c", If: "false"},
		{Uses: "test-running", As: "d"},
	}
	res, _ := e.Run(context.Background(), promotion.Request{Steps: steps, WorkDir: t.TempDir()})
	if res.Phase != haulv1.PromotionRunning {
		t.Fatalf("phase %s, want Running at step d", res.Phase)
	}
	want := []call{{"compose-output", promotion.StatusSucceeded}, {"test-terminal", promotion.StatusErrored}, {"test-running", promotion.StatusRunning}}
	if len(calls) != len(want) {
		t.Fatalf("StepDone calls %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d = %v, want %v", i, calls[i], want[i])
		}
	}
}

func TestAutoNameIsDerivedFromItsInputs(t *testing.T) {
	long := strings.Repeat("s", 250)
	for name, tc := range map[string]struct {
		a, b [3]any
		same bool
	}{
		"same inputs, same name":    {[3]any{"prod", "abc", 1}, [3]any{"prod", "abc", 1}, true},
		"another attempt":           {[3]any{"prod", "abc", 1}, [3]any{"prod", "abc", 2}, false},
		"another freight":           {[3]any{"prod", "abc", 1}, [3]any{"prod", "abd", 1}, false},
		"long stages stay distinct": {[3]any{long + "a", "abc", 1}, [3]any{long + "b", "abc", 1}, false},
	} {
		t.Run(name, func(t *testing.T) {
			x := promotion.AutoName(tc.a[0].(string), tc.a[1].(string), tc.a[2].(int))
			y := promotion.AutoName(tc.b[0].(string), tc.b[1].(string), tc.b[2].(int))
			if (x == y) != tc.same {
				t.Fatalf("%s vs %s", x, y)
			}
			for _, n := range []string{x, y} {
				if len(n) > 253 || strings.HasPrefix(n, ".") {
					t.Fatalf("invalid name %q", n)
				}
			}
		})
	}
}
