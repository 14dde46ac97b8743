package steps

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/promotion"
)

const (
	helmChartConfigType  = types.MediaType("application/vnd.cncf.helm.config.v1+json")
	helmChartContentType = types.MediaType("application/vnd.cncf.helm.chart.content.v1.tar+gzip")
	provenanceType       = types.MediaType("application/vnd.cncf.helm.chart.provenance.v1.prov")
)

// startRegistry starts the test registry; with a user set it answers 401 to any
// request without those basic-auth credentials.
func startRegistry(t *testing.T, user, pass string) *testservers.Registry {
	t.Helper()
	reg, err := testservers.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	if user != "" {
		reg.Wrap = func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
					w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
					http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
					return
				}
				h.ServeHTTP(w, r)
			})
		}
	}
	return reg
}

// pushChart pushes a Helm-chart-shaped artifact (a provenance layer first, then the
// chart content) and returns its digest.
func pushChart(t *testing.T, reg *testservers.Registry, ref, content string, opts ...remote.Option) string {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, helmChartConfigType)
	img, err := mutate.Append(img,
		mutate.Addendum{Layer: static.NewLayer([]byte("provenance"), provenanceType), MediaType: provenanceType},
		mutate.Addendum{Layer: static.NewLayer([]byte(content), helmChartContentType), MediaType: helmChartContentType},
	)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(reg.Repo(ref))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// credentialsFor answers lookups of one type and URL, recording what was asked.
func credentialsFor(credType, url, user, pass string, asked *[]string) promotion.CredentialsFunc {
	return func(_ context.Context, ct, u string) (string, string, bool, error) {
		*asked = append(*asked, ct+" "+u)
		if ct == credType && u == url {
			return user, pass, true, nil
		}
		return "", "", false, nil
	}
}

func TestOCIDownloadFromRegistry(t *testing.T) {
	reg := startRegistry(t, "", "")
	digest := pushChart(t, reg, "charts/web:1.0.0", "chart-tgz-bytes")

	t.Run("the first layer by default", func(t *testing.T) {
		r := newStepRun(t, nil)
		r.mustRun(t, ociDownload, map[string]any{"imageRef": reg.Repo("charts/web:1.0.0"), "outPath": "dl/first"})
		if got := r.read(t, "dl/first"); got != "provenance" {
			t.Errorf("saved %q, want the first layer", got)
		}
	})
	t.Run("the layer of mediaType, by digest and oci://", func(t *testing.T) {
		r := newStepRun(t, nil)
		r.mustRun(t, ociDownload, map[string]any{
			"imageRef": "oci://" + reg.Repo("charts/web@"+digest), "outPath": "web.tgz", "mediaType": string(helmChartContentType),
		})
		if got := r.read(t, "web.tgz"); got != "chart-tgz-bytes" {
			t.Errorf("saved %q, want the chart layer", got)
		}
	})
	t.Run("an existing file needs allowOverwrite", func(t *testing.T) {
		r := newStepRun(t, map[string]string{"web.tgz": "old"})
		cfg := map[string]any{"imageRef": reg.Repo("charts/web:1.0.0"), "outPath": "web.tgz", "mediaType": string(helmChartContentType)}
		_, err := r.run(t, ociDownload, cfg)
		wantErr(t, err, `outPath "web.tgz" already exists; set allowOverwrite`)
		cfg["allowOverwrite"] = true
		r.mustRun(t, ociDownload, cfg)
		if got := r.read(t, "web.tgz"); got != "chart-tgz-bytes" {
			t.Errorf("overwritten file holds %q", got)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		old := ociMaxLayerSize
		ociMaxLayerSize = 8
		defer func() { ociMaxLayerSize = old }()
		for name, tc := range map[string]struct {
			cfg  map[string]any
			want []string
		}{
			"an oversize layer": {
				map[string]any{"imageRef": reg.Repo("charts/web:1.0.0"), "outPath": "x", "mediaType": string(helmChartContentType)},
				[]string{"is 15 bytes, larger than the limit of 8"},
			},
			"an outPath outside the work dir": {
				map[string]any{"imageRef": reg.Repo("charts/web:1.0.0"), "outPath": "../x"},
				[]string{`outPath "../x"`},
			},
			"an outPath in .git": {
				map[string]any{"imageRef": reg.Repo("charts/web:1.0.0"), "outPath": "repo/.git/hooks/x"},
				[]string{`outPath "repo/.git/hooks/x"`, ".git"},
			},
			"a mediaType no layer has": {
				map[string]any{"imageRef": reg.Repo("charts/web:1.0.0"), "outPath": "x", "mediaType": "text/plain"},
				[]string{`no layer has mediaType "text/plain"`, string(helmChartContentType)},
			},
			"a missing tag": {
				map[string]any{"imageRef": reg.Repo("charts/web:9.9.9"), "outPath": "x"},
				[]string{"pulling " + reg.Repo("charts/web:9.9.9"), "MANIFEST_UNKNOWN"},
			},
			"a bad reference": {
				map[string]any{"imageRef": "UPPER/case:?", "outPath": "x"},
				[]string{`imageRef "UPPER/case:?" is not an OCI reference`},
			},
			"an unknown key": {
				map[string]any{"imageRef": reg.Repo("charts/web:1.0.0"), "outPath": "x", "layer": 1},
				[]string{`unknown field "layer"`},
			},
		} {
			t.Run(name, func(t *testing.T) {
				r := newStepRun(t, nil)
				_, err := r.run(t, ociDownload, tc.cfg)
				wantErr(t, err, tc.want...)
				if !promotion.IsTerminal(err) {
					t.Errorf("%v is not terminal", err)
				}
				if r.exists("x") {
					t.Error("a refused download left a file")
				}
			})
		}
	})
}

func TestOCIDownloadUsesProjectCredentials(t *testing.T) {
	reg := startRegistry(t, "robot", "s3cret")
	pushChart(t, reg, "charts/web:1.0.0", "chart-tgz-bytes", remote.WithAuth(&authn.Basic{Username: "robot", Password: "s3cret"}))
	cfg := map[string]any{"imageRef": "oci://" + reg.Repo("charts/web:1.0.0"), "outPath": "web.tgz", "mediaType": string(helmChartContentType)}

	t.Run("helm credentials for an oci:// reference", func(t *testing.T) {
		var asked []string
		r := newStepRun(t, nil)
		sc := &promotion.StepContext{WorkDir: r.dir, Config: cfg, Services: &promotion.Services{
			Credentials: credentialsFor("helm", "oci://"+reg.Repo("charts/web"), "robot", "s3cret", &asked),
		}}
		if _, err := ociDownload(t.Context(), sc); err != nil {
			t.Fatal(err)
		}
		if got := r.read(t, "web.tgz"); got != "chart-tgz-bytes" {
			t.Errorf("saved %q", got)
		}
		if len(asked) != 1 || asked[0] != "helm oci://"+reg.Repo("charts/web") {
			t.Errorf("credential lookups = %q, want one helm lookup of the oci:// repository", asked)
		}
	})
	t.Run("no credentials is a message saying which Secret to add", func(t *testing.T) {
		var asked []string
		r := newStepRun(t, nil)
		sc := &promotion.StepContext{WorkDir: r.dir, Config: cfg, Services: &promotion.Services{
			Credentials: credentialsFor("image", reg.Repo("charts/web"), "robot", "s3cret", &asked),
		}}
		_, err := ociDownload(t.Context(), sc)
		wantErr(t, err, "refused anonymous access (401)", "no helm credentials for oci://"+reg.Repo("charts/web"), "haul.dev/cred-type=helm")
	})
	t.Run("wrong credentials are named as refused, never shown", func(t *testing.T) {
		var asked []string
		r := newStepRun(t, nil)
		sc := &promotion.StepContext{WorkDir: r.dir, Config: cfg, Services: &promotion.Services{
			Credentials: credentialsFor("helm", "oci://"+reg.Repo("charts/web"), "robot", "wr0ng", &asked),
		}}
		_, err := ociDownload(t.Context(), sc)
		wantErr(t, err, "refused the project's helm credentials")
		if strings.Contains(err.Error(), "wr0ng") {
			t.Errorf("error %q shows the password", err)
		}
	})
	t.Run("the address policy applies", func(t *testing.T) {
		r := newStepRun(t, nil)
		sc := &promotion.StepContext{WorkDir: r.dir, Config: cfg, Services: &promotion.Services{
			HTTPClient: promotion.AddressPolicy{DenyPrivate: true}.Client,
		}}
		_, err := ociDownload(t.Context(), sc)
		if err == nil || !promotion.IsTerminal(err) {
			t.Fatalf("err = %v, want a terminal refusal of 127.0.0.1", err)
		}
	})
}
