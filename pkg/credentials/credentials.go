package credentials

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Type is a value of the haul.dev/cred-type label. It is an alias of string so callers
// holding the type as a plain string (step configs, expressions) need no conversion.
type Type = string

// Credential types.
const (
	Git     Type = "git"
	Image   Type = "image"
	Helm    Type = "helm"
	Generic Type = "generic"
)

// Keys of a credential Secret.
const (
	KeyRepoURL        = "repoURL"
	KeyRepoURLIsRegex = "repoURLIsRegex"
	KeyUsername       = "username"
	KeyPassword       = "password"
)

// Credentials are what a matching Secret holds.
type Credentials struct {
	Username string
	Password string
	// SecretName names the Secret they came from (namespace/name), for messages; never the values.
	SecretName string
}

// Store looks credentials up through a client.Reader (typically the manager's cache).
// It is safe for concurrent use; compiled regexes are cached.
type Store struct {
	Reader client.Reader
	// SharedNamespace, when set, is searched after the project namespace.
	SharedNamespace string

	regexes sync.Map // pattern → *regexp.Regexp or error
}

// Lookup finds credentials of credType for repoURL, first in namespace, then in the
// shared namespace. Within a namespace an exact repoURL match wins over a regex match;
// among several of the same kind the Secret whose name sorts first wins, so the answer
// is deterministic.
func (s *Store) Lookup(ctx context.Context, namespace string, credType Type, repoURL string) (*Credentials, error) {
	for _, ns := range []string{namespace, s.SharedNamespace} {
		if ns == "" {
			continue
		}
		c, err := s.lookupIn(ctx, ns, credType, repoURL)
		if err != nil || c != nil {
			return c, err
		}
	}
	return nil, nil
}

func (s *Store) lookupIn(ctx context.Context, namespace string, credType Type, repoURL string) (*Credentials, error) {
	var list corev1.SecretList
	// resourceVersion 0 lets the API server answer from its watch cache. A consistent
	// list waits for etcd and the cache to agree, which measured 25–55 ms under promotion
	// load against ≈ 1 ms; the price is that a Secret created milliseconds ago may be
	// missed once. (A cache-backed Reader ignores Raw.)
	if err := s.Reader.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{haulv1.LabelCredType: credType},
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: "0"}}); err != nil {
		return nil, fmt.Errorf("listing %s credentials in namespace %s: %w", credType, namespace, err)
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	want := normalize(repoURL)
	var regexHit *corev1.Secret
	for i := range items {
		sec := &items[i]
		pattern := string(sec.Data[KeyRepoURL])
		if pattern == "" {
			continue
		}
		if string(sec.Data[KeyRepoURLIsRegex]) == "true" {
			if regexHit != nil {
				continue
			}
			re, err := s.regex(pattern)
			if err != nil {
				continue // a broken pattern in one Secret must not hide the others
			}
			if re.MatchString(repoURL) {
				regexHit = sec
			}
			continue
		}
		if pattern == repoURL || normalize(pattern) == want {
			return fromSecret(sec), nil
		}
	}
	if regexHit != nil {
		return fromSecret(regexHit), nil
	}
	return nil, nil
}

func (s *Store) regex(p string) (*regexp.Regexp, error) {
	if v, ok := s.regexes.Load(p); ok {
		if re, ok := v.(*regexp.Regexp); ok {
			return re, nil
		}
		return nil, v.(error)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		s.regexes.Store(p, err)
		return nil, err
	}
	s.regexes.Store(p, re)
	return re, nil
}

func fromSecret(s *corev1.Secret) *Credentials {
	return &Credentials{
		Username:   string(s.Data[KeyUsername]),
		Password:   string(s.Data[KeyPassword]),
		SecretName: s.Namespace + "/" + s.Name,
	}
}

// normalize makes trivially different spellings of one URL compare equal: scheme and
// host case, a trailing slash, a ".git" suffix.
func normalize(u string) string {
	u = strings.TrimSpace(u)
	u = strings.TrimSuffix(u, "/")
	u = strings.TrimSuffix(u, ".git")
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		host, path, _ := strings.Cut(rest, "/")
		u = strings.ToLower(u[:i]) + "://" + strings.ToLower(host)
		if path != "" {
			u += "/" + path
		}
	}
	return u
}
