package credentials

import (
	"context"
	"os"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

func secret(t *testing.T, ns, name string, typ Type, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{haulv1.LabelCredType: typ}},
		StringData: data,
	}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func TestLookup(t *testing.T) {
	ns := env.Namespace(t, "creds-project")
	shared := env.Namespace(t, "creds-shared")
	secret(t, ns, "a-regex", Git, map[string]string{KeyRepoURL: `^https://git\.example\.com/.*$`, KeyRepoURLIsRegex: "true", KeyUsername: "regex", KeyPassword: "r"})
	secret(t, ns, "z-exact", Git, map[string]string{KeyRepoURL: "https://git.example.com/acme/app.git", KeyUsername: "exact", KeyPassword: "e"})
	secret(t, ns, "broken-regex", Git, map[string]string{KeyRepoURL: `(`, KeyRepoURLIsRegex: "true", KeyUsername: "never"})
	secret(t, ns, "image", Image, map[string]string{KeyRepoURL: "ghcr.io/acme/app", KeyUsername: "img", KeyPassword: "i"})
	secret(t, shared, "shared", Git, map[string]string{KeyRepoURL: "https://shared.example.com/x", KeyUsername: "shared", KeyPassword: "s"})
	unlabelled := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}, StringData: map[string]string{KeyRepoURL: "https://plain.example.com/x", KeyUsername: "plain"}}
	if err := env.Client.Create(context.Background(), unlabelled); err != nil {
		t.Fatal(err)
	}
	store := &Store{Reader: env.Client, SharedNamespace: shared}
	tests := map[string]struct {
		typ  Type
		url  string
		want string
	}{
		"exact beats regex":           {Git, "https://git.example.com/acme/app.git", "exact"},
		"exact ignores .git and case": {Git, "HTTPS://Git.Example.com/acme/app", "exact"},
		"regex":                       {Git, "https://git.example.com/other/repo.git", "regex"},
		"type must match":             {Helm, "https://git.example.com/acme/app.git", ""},
		"image":                       {Image, "ghcr.io/acme/app", "img"},
		"shared namespace fallback":   {Git, "https://shared.example.com/x", "shared"},
		"unlabelled secrets ignored":  {Git, "https://plain.example.com/x", ""},
		"no match":                    {Git, "https://elsewhere.example.com/x", ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := store.Lookup(context.Background(), ns, tt.typ, tt.url)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if c != nil {
				got = c.Username
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a store without a shared namespace does not look there", func(t *testing.T) {
		c, err := (&Store{Reader: env.Client}).Lookup(context.Background(), ns, Git, "https://shared.example.com/x")
		if err != nil || c != nil {
			t.Fatalf("got %v, %v", c, err)
		}
	})
	t.Run("concurrent lookups", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := store.Lookup(context.Background(), ns, Git, "https://git.example.com/other/repo.git")
				if err != nil || c == nil || c.Username != "regex" {
					t.Errorf("got %v, %v", c, err)
				}
			}()
		}
		wg.Wait()
	})
}
