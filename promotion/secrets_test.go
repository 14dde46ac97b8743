package promotion_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

const injectedPassword = "pa55-word-injected-9"

func init() {
	// test-credential outputs the password the engine's credentials lookup hands it, as
	// a step that builds an authenticated URL might.
	testSteps.Register("test-credential", func() promotion.Step {
		return promotion.StepFunc(func(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
			_, pass, _, err := sc.Services.Credentials(ctx, "generic", "https://example.com")
			if err != nil {
				return promotion.StepResult{}, err
			}
			sc.Logger().Info("Got credentials for https://u:" + pass + "@example.com")
			return promotion.StepResult{Output: map[string]any{"pw": pass, "list": []any{"x", "tok=" + pass}}}, nil
		})
	})
}

func credentialEngine() *promotion.Engine {
	return &promotion.Engine{Registry: testSteps, Services: &promotion.Services{
		Credentials: func(context.Context, string, string) (string, string, bool, error) {
			return "haul", injectedPassword, true, nil
		},
	}}
}

// secretSteps: a step receives a credential and outputs it; a later step uses the
// output in memory; a fail step builds its message from it.
func secretSteps() []haulv1.PromotionStep {
	return []haulv1.PromotionStep{
		step("test-credential", "cred", nil),
		step("compose-output", "check", map[string]any{"same": "${{ outputs.cred.pw == '" + injectedPassword + "' }}"}),
		step("fail", "stop", map[string]any{"message": "password is ${{ outputs.cred.pw }}"}),
	}
}

func TestInjectedCredentialIsMaskedInEverythingTheEngineReturns(t *testing.T) {
	var mu sync.Mutex
	var persisted []promotion.State
	req := promotion.Request{
		Steps: secretSteps(), WorkDir: t.TempDir(),
		Persist: func(_ context.Context, s promotion.State) error {
			mu.Lock()
			defer mu.Unlock()
			persisted = append(persisted, s)
			return nil
		},
	}
	var logged strings.Builder
	e := credentialEngine()
	e.Services.Logger = funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		logged.WriteString(args + "\n")
	}, funcr.Options{})
	res, final := e.Run(context.Background(), req)
	mu.Lock()
	if log := logged.String(); !strings.Contains(log, "Got credentials") || strings.Contains(log, injectedPassword) {
		t.Fatalf("step log lines, want the message with the password masked:\n%s", log)
	}
	mu.Unlock()
	if res.Phase != haulv1.PromotionFailed || res.Message != `step "stop" failed: password is ***` {
		t.Fatalf("phase %s, message %q; want Failed with the password masked", res.Phase, res.Message)
	}
	for i, s := range append(persisted, final) {
		var st haulv1.PromotionStatus
		if err := s.ApplyToStatus(&st); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(st)
		if strings.Contains(string(raw), injectedPassword) {
			t.Fatalf("state %d as saved in the status shows the password: %s", i, raw)
		}
	}
	var st haulv1.PromotionStatus
	_ = final.ApplyToStatus(&st)
	var outputs map[string]any
	_ = json.Unmarshal(st.State.Raw, &outputs)
	if check, _ := outputs["check"].(map[string]any); check["same"] != true {
		t.Fatalf("a later step did not see the real value in memory: outputs %v", outputs)
	}
	cred, _ := outputs["cred"].(map[string]any)
	if cred["pw"] != "***" {
		t.Fatalf("saved outputs.cred.pw = %v, want ***", cred["pw"])
	}
	if got := outputs["$redacted"]; !sameStrings(got, "/cred/pw", "/cred/list/1") {
		t.Fatalf("saved $redacted = %v, want the pointers of both masked values", got)
	}
}

// A Promotion resumed after a restart (state read back from status, no memory of the
// real value) fails naming the output instead of using "***"; one resumed in the same
// process (same Secrets) goes on with the real value.
func TestResumedPromotionRefusesMaskedOutputItNoLongerKnows(t *testing.T) {
	steps := secretSteps()[:2]
	var saved haulv1.PromotionStatus
	sec := promotion.NewSecrets()
	first := promotion.Request{Steps: steps[:1], WorkDir: t.TempDir(), Secrets: sec}
	if res, st := credentialEngine().Run(context.Background(), first); res.Phase != haulv1.PromotionSucceeded {
		t.Fatalf("first step: %s %s", res.Phase, res.Message)
	} else if err := st.ApplyToStatus(&saved); err != nil {
		t.Fatal(err)
	}
	resume := func(sec *promotion.Secrets) (promotion.Result, promotion.State) {
		st, err := promotion.StateFromStatus(&saved)
		if err != nil {
			t.Fatal(err)
		}
		return credentialEngine().Run(context.Background(), promotion.Request{Steps: steps, WorkDir: t.TempDir(), State: st, Secrets: sec})
	}

	res, _ := resume(promotion.NewSecrets())
	if res.Phase != haulv1.PromotionErrored || !strings.Contains(res.Message, "outputs.cred.pw") ||
		!strings.Contains(res.Message, "lost when the controller restarted") {
		t.Fatalf("after a restart: %s %q; want Errored naming outputs.cred.pw as lost", res.Phase, res.Message)
	}

	res, st := resume(sec)
	var out haulv1.PromotionStatus
	_ = st.ApplyToStatus(&out)
	if res.Phase != haulv1.PromotionSucceeded || !strings.Contains(string(out.State.Raw), `"check":{"same":true}`) {
		t.Fatalf("in the same process: %s %q, state %s; want the real value used", res.Phase, res.Message, out.State.Raw)
	}
}

func sameStrings(v any, want ...string) bool {
	list, _ := v.([]any)
	if len(list) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range list {
		s, _ := x.(string)
		seen[s] = true
	}
	for _, w := range want {
		if !seen[w] {
			return false
		}
	}
	return true
}
