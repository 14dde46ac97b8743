package steps

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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

// fetchManifest returns the manifest annotations and digest stored under ref.
func fetchManifest(t *testing.T, ref string, opts ...remote.Option) (*remote.Descriptor, map[string]string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Get(r, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if d.MediaType.IsIndex() {
		idx, err := d.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		return d, im.Annotations
	}
	img, err := d.Image()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return d, m.Annotations
}

func TestOCIPushToRegistry(t *testing.T) {
	reg := startRegistry(t, "", "")
	srcDigest, err := reg.PushImage("sandbox/app", "1.2.3", testservers.ImageOptions{Annotations: map[string]string{"org.opencontainers.image.source": "https://example.com/app"}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a copy to another repository with annotations", func(t *testing.T) {
		r := newStepRun(t, nil)
		res := r.mustRun(t, ociPush, map[string]any{
			"srcRef":      reg.Repo("sandbox/app@" + srcDigest),
			"destRef":     reg.Repo("prod/app:v1.2.3"),
			"annotations": map[string]any{"io.kargo.promotion": "uat.01", "manifest:stage": "uat", "index:ignored": "x"},
		})
		d, anns := fetchManifest(t, reg.Repo("prod/app:v1.2.3"))
		want := map[string]string{"org.opencontainers.image.source": "https://example.com/app", "io.kargo.promotion": "uat.01", "stage": "uat"}
		for k, v := range want {
			if anns[k] != v {
				t.Errorf("annotation %s = %q, want %q (all: %v)", k, anns[k], v, anns)
			}
		}
		if _, ok := anns["ignored"]; ok {
			t.Error("an index: annotation landed on a single image")
		}
		if res.Output["digest"] != d.Digest.String() || res.Output["tag"] != "v1.2.3" || res.Output["image"] != reg.Repo("prod/app:v1.2.3") {
			t.Errorf("outputs = %v, want digest %s, tag v1.2.3, image %s", res.Output, d.Digest, reg.Repo("prod/app:v1.2.3"))
		}
		if d.Digest.String() == srcDigest {
			t.Error("annotations did not change the digest")
		}
	})
	t.Run("a retag keeps the digest", func(t *testing.T) {
		r := newStepRun(t, nil)
		res := r.mustRun(t, ociPush, map[string]any{"srcRef": reg.Repo("sandbox/app:1.2.3"), "destRef": "oci://" + reg.Repo("sandbox/app:stable")})
		d, _ := fetchManifest(t, reg.Repo("sandbox/app:stable"))
		if d.Digest.String() != srcDigest || res.Output["digest"] != srcDigest {
			t.Errorf("retag digest = %s (output %v), want %s", d.Digest, res.Output["digest"], srcDigest)
		}
	})
	t.Run("an index keeps its platforms and annotates each image", func(t *testing.T) {
		platforms := []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
		if _, err := reg.PushIndex("sandbox/multi", "2.0", platforms, testservers.ImageOptions{}); err != nil {
			t.Fatal(err)
		}
		r := newStepRun(t, nil)
		r.mustRun(t, ociPush, map[string]any{
			"srcRef": reg.Repo("sandbox/multi:2.0"), "destRef": reg.Repo("prod/multi:2.0"),
			"annotations": map[string]any{"index:revision": "abc", "built-by": "haul"},
		})
		_, anns := fetchManifest(t, reg.Repo("prod/multi:2.0"))
		if anns["revision"] != "abc" || anns["built-by"] != "" {
			t.Errorf("index annotations = %v, want revision only", anns)
		}
		ref, _ := name.ParseReference(reg.Repo("prod/multi:2.0"))
		idx, err := remote.Index(ref)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 2 {
			t.Fatalf("index lists %d images, want 2", len(im.Manifests))
		}
		for i, m := range im.Manifests {
			if m.Platform == nil || m.Platform.Architecture != platforms[i].Architecture {
				t.Errorf("entry %d platform = %v, want %s", i, m.Platform, platforms[i].Architecture)
			}
			img, err := idx.Image(m.Digest)
			if err != nil {
				t.Fatalf("image %d is not in the registry: %v", i, err)
			}
			mf, _ := img.Manifest()
			if mf.Annotations["built-by"] != "haul" {
				t.Errorf("image %d annotations = %v, want built-by", i, mf.Annotations)
			}
		}
	})
	t.Run("a Helm chart artifact", func(t *testing.T) {
		chartDigest := pushChart(t, reg, "charts/web:1.0.0", "chart-bytes")
		r := newStepRun(t, nil)
		res := r.mustRun(t, ociPush, map[string]any{"srcRef": "oci://" + reg.Repo("charts/web:1.0.0"), "destRef": "oci://" + reg.Repo("prod-charts/web:1.0.0")})
		if res.Output["digest"] != chartDigest {
			t.Errorf("digest = %v, want the chart's %s", res.Output["digest"], chartDigest)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		old := ociPushMaxSize
		ociPushMaxSize = 64
		defer func() { ociPushMaxSize = old }()
		for name, tc := range map[string]struct {
			cfg  map[string]any
			want []string
		}{
			"an oversize copy between repositories": {
				map[string]any{"srcRef": reg.Repo("sandbox/app:1.2.3"), "destRef": reg.Repo("big/app:1")},
				[]string{reg.Repo("sandbox/app:1.2.3") + " is", "larger than the limit of 64 for a copy between repositories"},
			},
			"a destRef with a digest": {
				map[string]any{"srcRef": reg.Repo("sandbox/app:1.2.3"), "destRef": reg.Repo("prod/app@" + srcDigest)},
				[]string{"destRef", "must name a tag"},
			},
			"a missing source": {
				map[string]any{"srcRef": reg.Repo("sandbox/app:0.0.0"), "destRef": reg.Repo("prod/app:x")},
				[]string{"reading " + reg.Repo("sandbox/app:0.0.0"), "MANIFEST_UNKNOWN"},
			},
			"imageRef instead of srcRef": {
				map[string]any{"imageRef": reg.Repo("sandbox/app:1.2.3"), "destRef": reg.Repo("prod/app:x")},
				[]string{`unknown field "imageRef"`},
			},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := newStepRun(t, nil).run(t, ociPush, tc.cfg)
				wantErr(t, err, tc.want...)
				if !promotion.IsTerminal(err) {
					t.Errorf("%v is not terminal", err)
				}
			})
		}
		t.Run("a retag is not capped", func(t *testing.T) {
			newStepRun(t, nil).mustRun(t, ociPush, map[string]any{"srcRef": reg.Repo("sandbox/app:1.2.3"), "destRef": reg.Repo("sandbox/app:big")})
		})
	})
}

func TestOCIPushCredentialsPerRepository(t *testing.T) {
	reg := startRegistry(t, "robot", "s3cret")
	auth := remote.WithAuth(&authn.Basic{Username: "robot", Password: "s3cret"})
	img, err := testservers.RandomImage(testservers.ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := name.ParseReference(reg.Repo("sandbox/app:1"))
	if err := remote.Write(src, img, auth); err != nil {
		t.Fatal(err)
	}
	both := func(_ context.Context, ct, u string) (string, string, bool, error) {
		if ct == "image" && (u == reg.Repo("sandbox/app") || u == reg.Repo("prod/app")) {
			return "robot", "s3cret", true, nil
		}
		return "", "", false, nil
	}
	srcOnly := func(_ context.Context, ct, u string) (string, string, bool, error) {
		if ct == "image" && u == reg.Repo("sandbox/app") {
			return "robot", "s3cret", true, nil
		}
		return "", "", false, nil
	}
	cfg := map[string]any{"srcRef": reg.Repo("sandbox/app:1"), "destRef": reg.Repo("prod/app:1")}
	run := func(creds promotion.CredentialsFunc) (promotion.StepResult, error) {
		sc := &promotion.StepContext{WorkDir: t.TempDir(), Config: cfg, Services: &promotion.Services{Credentials: creds}}
		return ociPush(t.Context(), sc)
	}
	if _, err := run(srcOnly); err == nil {
		t.Fatal("a push without destination credentials passed")
	} else {
		wantErr(t, err, "pushing "+reg.Repo("prod/app:1"), "no image credentials for "+reg.Repo("prod/app"))
	}
	if _, err := run(both); err != nil {
		t.Fatal(err)
	}
	fetchManifest(t, reg.Repo("prod/app:1"), auth)
}
