package redact

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestStringRemovesCredentials(t *testing.T) {
	cases := map[string]struct {
		in, leaked string
	}{
		"url user and password":     {"fetching https://bob:s3cr3tpw@git.example.com/a.git failed", "s3cr3tpw"},
		"url token only":            {"clone https://ghp_abcdefghijkl@github.com/x/y", "ghp_abcdefghijkl"},
		"authorization header":      {"request had Authorization: Basic Ym9iOnMzY3IzdHB3 and failed", "Ym9iOnMzY3IzdHB3"},
		"header without digits":     {"Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"},
		"echoed bearer in json":     {`{"error":"denied","headers":{"Authorization":"Bearer eyJhbGciOi.abc.def"}}`, "eyJhbGciOi.abc.def"},
		"custom scheme header":      {"authorization: Token-XYZ=abcdefghi", "abcdefghi"},
		"query token":               {"GET https://h/api?private_token=glpat-123456&x=1", "glpat-123456"},
		"query access token at end": {"GET https://h/api?x=1&access_token=abcdef123", "abcdef123"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			out := String(c.in)
			if strings.Contains(out, c.leaked) {
				t.Fatalf("String(%q) = %q still shows %q", c.in, out, c.leaked)
			}
			if !strings.Contains(out, Mask) {
				t.Fatalf("String(%q) = %q has no mask", c.in, out)
			}
		})
	}
}

func TestStringKeepsOrdinaryText(t *testing.T) {
	for _, s := range []string{
		"branch main not found in https://git.example.com/a.git",
		"tag v1.2.3 is not a semver; basic checks passed",
		"stage prod: 3 of 4 checks ok",
	} {
		if got := String(s); got != s {
			t.Errorf("String(%q) = %q, want it unchanged", s, got)
		}
	}
}

func TestValuesMaskSecretsKeepChain(t *testing.T) {
	var v Values
	v.Add("hunter2-token", "ab", "line-one-secret\nline-two-secret")
	if v.Len() != 4 {
		t.Fatalf("Len = %d, want 4 (short value ignored, multi-line kept whole and by line)", v.Len())
	}
	msg := v.String(`expression failed: "hunter2-token" is not a number; saw line-two-secret; ab stays`)
	for _, leaked := range []string{"hunter2-token", "line-two-secret"} {
		if strings.Contains(msg, leaked) {
			t.Fatalf("masked message %q still shows %q", msg, leaked)
		}
	}
	if !strings.Contains(msg, "ab stays") {
		t.Fatalf("short value was masked: %q", msg)
	}
	err := v.Error(errors.Join(fs.ErrNotExist, errors.New("value hunter2-token")))
	if strings.Contains(err.Error(), "hunter2-token") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Error() = %q (chain kept: %v)", err, errors.Is(err, fs.ErrNotExist))
	}
	var nilValues *Values
	if got := nilValues.String("https://u:pw1234@h/x"); strings.Contains(got, "pw1234") {
		t.Fatalf("nil Values did not apply String: %q", got)
	}
}

func TestValuesContainsOnlyRecordedValues(t *testing.T) {
	var v Values
	v.Add("hunter2-token")
	if !v.Contains("prefix hunter2-token suffix") {
		t.Fatal("Contains missed a recorded value inside the text")
	}
	if v.Contains("https://u:other-pw@h/x") {
		t.Fatal("Contains reported a credential that was never recorded")
	}
	var nilValues *Values
	if nilValues.Contains("hunter2-token") {
		t.Fatal("nil Values contains nothing")
	}
}
