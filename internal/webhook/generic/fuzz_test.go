package generic

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// FuzzGenericActions feeds arbitrary bodies, header values and expressions through what
// a generic receiver does with a request: the environment is built or the body refused
// as not JSON; a whenExpression that `haul apply` accepts evaluates to a boolean or an
// error, never a panic; a template without ${{ }} comes back unchanged; a template
// that Check refuses never evaluates; Check never panics and names the field of every
// problem it reports.
func FuzzGenericActions(f *testing.F) {
	f.Add([]byte(`{"repository":{"url":"git@github.com:Acme/App.git","name":"app"},"ref":"refs/heads/main"}`), "push",
		"request.header('X-Event-Type') == 'push' && request.body.ref == 'refs/heads/main'", "${{ normalizeGit(request.body.repository.url) }}")
	f.Add([]byte(`{"promotion":"p1"}`), "", "request.body.promotion != nil", "${{ request.body.promotion }}")
	f.Add([]byte(``), "x", "request.body == nil", "plain-name")
	f.Add([]byte(`[1,2,3]`), "a,b", "len(request.headers('X-Event-Type')) > 0", "w-${{ request.body[0] }}")
	f.Add([]byte(`{"n":"three"}`), "", "request.body.n > 1", "${{ request.body.n")
	f.Add([]byte(`{"image":"ghcr.io/acme/ui:1"}`), "", "normalizeImage(request.body.image) == 'ghcr.io/acme/ui'", "${{ normalizeChart('oci://' + request.body.image) }}")
	f.Add([]byte(`{}`), "", "", " app\t") // text is never trimmed: " app" must not select "app"
	f.Fuzz(func(t *testing.T, body []byte, header, when, tmpl string) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/p/r?service=api", bytes.NewReader(body))
		if strings.IndexFunc(header, func(c rune) bool { return c < ' ' || c == 0x7f }) < 0 {
			r.Header.Set("X-Event-Type", header)
		}
		env, err := NewEnv(r, body)
		if err != nil {
			return
		}
		a := haulv1.GenericWebhookAction{Action: haulv1.GenericWebhookActionRefresh, WhenExpression: when,
			Parameters:              map[string]string{"p": tmpl},
			TargetSelectionCriteria: []haulv1.GenericWebhookTargetSelectionCriteria{{Kind: haulv1.GenericWebhookTargetWarehouse, Name: tmpl}}}
		for _, msg := range Check("spec.webhookReceivers[0].generic", &haulv1.GenericWebhookProvider{Actions: []haulv1.GenericWebhookAction{a}}) {
			if !strings.HasPrefix(msg, "spec.webhookReceivers[0].generic.actions[0].") {
				t.Fatalf("problem without its field: %q", msg)
			}
		}
		if when != "" && !strings.Contains(when, "${{") {
			if _, err := compile(when, true); err == nil {
				_, _ = When(when, env) // a boolean or an error; a panic fails the fuzzer
			}
		}
		out, err := Template(tmpl, env)
		if !strings.Contains(tmpl, "${{") && (err != nil || out != tmpl) {
			t.Fatalf("template without expressions changed: %q -> %q, %v", tmpl, out, err)
		}
		// What apply refuses never runs.
		if CheckTemplate(tmpl) != nil {
			if err == nil {
				t.Fatalf("template %q refused by Check but evaluated to %q", tmpl, out)
			}
			if _, perr := Parameters(map[string]string{"p": tmpl}, env); perr == nil {
				t.Fatalf("parameter %q refused by Check but evaluated", tmpl)
			}
		}
	})
}
