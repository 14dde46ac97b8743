package promotion_test

import (
	"testing"
)

// TestStepReferencesNeverNameAnotherNamespace (scenario 44): a step naming a channel
// or a Secret in another project's namespace is refused with the field and the value.
// Repository credentials are never named at all: they are found by URL in the
// project's namespace, then the shared one (pkg/credentials).
func TestStepReferencesNeverNameAnotherNamespace(t *testing.T) {
	cases := map[string]struct {
		uses string
		cfg  map[string]any
		want []string
	}{
		"send-message channel": {"send-message", map[string]any{"channel": map[string]any{"kind": "MessageChannel", "name": "other-team/slack"}, "message": "hi"},
			[]string{`channel.name "other-team/slack"`, "never namespace/name"}},
		"send-message cluster channel": {"send-message", map[string]any{"channel": map[string]any{"kind": "ClusterMessageChannel", "name": "x:y"}, "message": "hi"},
			[]string{`channel.name "x:y"`}},
		"secret() with a namespace": {"compose-output", map[string]any{"v": "${{ secret('other-team/git-creds') }}"},
			[]string{`secret("other-team/git-creds")`, "only a name is accepted"}},
		"secret() with a kargo-style reference": {"compose-output", map[string]any{"v": "${{ secret('git:secret:other-team/x') }}"},
			[]string{`secret("git:secret:other-team/x")`, "only a name is accepted"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			res, _ := runIn(t, t.TempDir(), freight("1"), nil, step(c.uses, "s", c.cfg))
			mustFail(t, res, c.want...)
		})
	}
}
