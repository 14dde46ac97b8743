package warehouse

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/internal/webhook"
	"github.com/haul-dev/haul/warehouse"
)

func tagImage(b *testing.B, reg *testservers.Registry, repo string, tags ...string) {
	b.Helper()
	img, err := testservers.RandomImage(testservers.ImageOptions{Created: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	for _, tag := range tags {
		ref, err := name.ParseReference(reg.Repo(repo)+":"+tag, name.Insecure)
		if err != nil {
			b.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWebhookToFreight measures the time from a signed generic webhook to the new
// Freight existing in the API server, against a registry holding 1,000 tags.
func BenchmarkWebhookToFreight(b *testing.B) {
	ns := env.Namespace(b, "bench-webhook")
	ctx := context.Background()
	reg, err := testservers.StartRegistry()
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	var tags []string
	for i := 0; i < 1000; i++ {
		tags = append(tags, fmt.Sprintf("1.%d.%d", i/100, i%100))
	}
	tagImage(b, reg, "app", tags...)
	secret := "bench-secret"
	for _, o := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hook"}, StringData: map[string]string{"secret": secret}},
		&haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}, Spec: haulv1.ProjectConfigSpec{
			WebhookReceivers: []haulv1.WebhookReceiver{{Name: "push", Generic: &haulv1.GenericWebhookProvider{SecretRef: haulv1.SecretRef{Name: "hook"}}}},
		}},
	} {
		if err := env.Client.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	startController(b, ns, Options{RegistryRPS: 1000})
	createWarehouse(b, ns, "app", time.Hour, imageSub(reg.Repo("app")))
	eventually(b, 60*time.Second, "the first Freight", func() bool { return getWarehouse(b, ns, "app").Status.LastFreightID != "" })
	srv := httptest.NewServer(webhook.NewHandler(env.Client))
	defer srv.Close()
	body := []byte(`{"repoURL":"` + reg.Repo("app") + `"}`)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	sig := "sha256=" + hex.EncodeToString(m.Sum(nil))
	origin := haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}

	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		tag := fmt.Sprintf("2.0.%d", i)
		tagImage(b, reg, "app", tag)
		desc, err := remote.Head(mustRef(b, reg.Repo("app")+":"+tag))
		if err != nil {
			b.Fatal(err)
		}
		want := warehouse.FreightID(origin, []haulv1.Image{{RepoURL: reg.Repo("app"), Tag: tag, Digest: desc.Digest.String()}}, nil, nil)
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/"+ns+"/push", bytes.NewReader(body))
		req.Header.Set(webhook.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("webhook answered %d", resp.StatusCode)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: want}, &haulv1.Freight{}); err == nil {
				break
			}
			if time.Now().After(deadline) {
				wh := getWarehouse(b, ns, "app")
				b.Fatalf("Freight %s not created within 30s; best %+v", want, wh.Status.DiscoveredArtifacts.Images[0].References[0])
			}
			time.Sleep(2 * time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

func mustRef(b *testing.B, s string) name.Reference {
	r, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkQuietPoll runs due polls that find nothing new and counts API writes and
// registry requests per poll; the targets are 0 and 1.
func BenchmarkQuietPoll(b *testing.B) {
	ns := env.Namespace(b, "bench-quiet")
	reg, err := testservers.StartRegistry()
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	var tags []string
	for i := 0; i < 1000; i++ {
		tags = append(tags, fmt.Sprintf("1.%d.%d", i/100, i%100))
	}
	tagImage(b, reg, "app", tags...)
	var requests, writes atomic.Int64
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1); h.ServeHTTP(w, r) })
	}
	count := func(ctx context.Context, c client.Client, o client.Object, p client.Patch, opts ...client.PatchOption) error {
		writes.Add(1)
		return c.Patch(ctx, o, p, opts...)
	}
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	c := interceptor.NewClient(wc, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			writes.Add(1)
			return c.Create(ctx, o, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			writes.Add(1)
			return c.Update(ctx, o, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
			return count(ctx, c, o, p, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			writes.Add(1)
			return c.SubResource(sub).Patch(ctx, o, p, opts...)
		},
	})
	createWarehouse(b, ns, "app", time.Minute, imageSub(reg.Repo("app")))
	now := time.Now()
	r := &Reconciler{
		Client: c, APIReader: env.Client, Recorder: discardRecorder{},
		Discoverer: warehouse.New(warehouse.Options{CacheDir: b.TempDir(), RegistryRPS: 1000}),
		Now:        func() time.Time { return now },
	}
	req := ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: "app"}}
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	requests.Store(0)
	writes.Store(0)
	for b.Loop() {
		now = now.Add(2 * time.Minute) // every pass is due
		if _, err := r.Reconcile(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(writes.Load())/float64(b.N), "api-writes/poll")
	b.ReportMetric(float64(requests.Load())/float64(b.N), "registry-requests/poll")
}
