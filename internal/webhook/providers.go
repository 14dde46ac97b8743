package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Provider names, as in ProjectConfig.spec.webhookReceivers[].
const (
	GitHub    = "github"
	GitLab    = "gitlab"
	Gitea     = "gitea"
	DockerHub = "dockerhub"
	Quay      = "quay"
	Harbor    = "harbor"
	Generic   = "generic"
)

// SignatureHeader is the header the generic receiver reads its HMAC from.
const SignatureHeader = "X-Haul-Signature"

var (
	errUnauthorized = errors.New("missing or invalid signature or token")
	errIgnoredEvent = errors.New("event ignored")
)

// providerOf returns the configured provider of a receiver and its Secret name.
func providerOf(r haulv1.WebhookReceiver) (string, string) {
	switch {
	case r.GitHub != nil:
		return GitHub, r.GitHub.SecretRef.Name
	case r.GitLab != nil:
		return GitLab, r.GitLab.SecretRef.Name
	case r.Gitea != nil:
		return Gitea, r.Gitea.SecretRef.Name
	case r.DockerHub != nil:
		return DockerHub, r.DockerHub.SecretRef.Name
	case r.Quay != nil:
		return Quay, r.Quay.SecretRef.Name
	case r.Harbor != nil:
		return Harbor, r.Harbor.SecretRef.Name
	case r.Generic != nil:
		return Generic, r.Generic.SecretRef.Name
	}
	return "", ""
}

// equalSecret compares without leaking content or length through timing.
func equalSecret(got, want string) bool {
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && want != ""
}

func validHMAC(header string, body []byte, secret string) bool {
	sig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// authenticate checks the request's signature or token for the provider.
func authenticate(provider string, r *http.Request, body []byte, secret string) error {
	ok := false
	switch provider {
	case GitHub, Gitea:
		// Gitea signs as GitHub does, in the same header (and in X-Gitea-Signature).
		ok = validHMAC(r.Header.Get("X-Hub-Signature-256"), body, secret)
	case Generic:
		ok = validHMAC(r.Header.Get(SignatureHeader), body, secret)
	case GitLab:
		ok = equalSecret(r.Header.Get("X-Gitlab-Token"), secret)
	case DockerHub, Quay, Harbor:
		tok := r.URL.Query().Get("token")
		if tok == "" {
			tok = r.Header.Get("Authorization")
			if b, found := strings.CutPrefix(tok, "Bearer "); found {
				tok = b
			}
		}
		ok = equalSecret(tok, secret)
	}
	if !ok {
		return errUnauthorized
	}
	return nil
}

// deliveryID returns the provider's unique delivery id, used to reject replays.
func deliveryID(provider string, r *http.Request) string {
	switch provider {
	case GitHub:
		return r.Header.Get("X-GitHub-Delivery")
	case GitLab:
		return r.Header.Get("X-Gitlab-Event-UUID")
	case Gitea:
		return r.Header.Get("X-Gitea-Delivery")
	}
	return ""
}

// checkEvent rejects events that cannot mean "a repository changed" or "a pull
// request ended". GitHub's ping is answered but triggers nothing.
func checkEvent(provider string, r *http.Request) error {
	switch provider {
	case GitHub:
		switch ev := r.Header.Get("X-GitHub-Event"); ev {
		case "push", "create", "release", "package", "registry_package", "pull_request":
			return nil
		case "ping":
			return errIgnoredEvent
		default:
			return fmt.Errorf("unsupported GitHub event %q", ev)
		}
	case GitLab:
		switch ev := r.Header.Get("X-Gitlab-Event"); ev {
		case "Push Hook", "Tag Push Hook", "Release Hook", "System Hook", "Merge Request Hook":
			return nil
		default:
			return fmt.Errorf("unsupported GitLab event %q", ev)
		}
	case Gitea:
		switch ev := r.Header.Get("X-Gitea-Event"); ev {
		case "push", "create", "release", "pull_request":
			return nil
		default:
			return fmt.Errorf("unsupported Gitea event %q", ev)
		}
	}
	return nil
}

type githubPayload struct {
	Repository *struct {
		HTMLURL  string `json:"html_url"`
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
	} `json:"repository"`
	Package         *githubPackage `json:"package"`
	RegistryPackage *githubPackage `json:"registry_package"`
}

type githubPackage struct {
	PackageVersion *struct {
		PackageURL string `json:"package_url"`
	} `json:"package_version"`
}

type gitlabPayload struct {
	Project *struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		WebURL     string `json:"web_url"`
	} `json:"project"`
	Repository *struct {
		GitHTTPURL string `json:"git_http_url"`
		Homepage   string `json:"homepage"`
	} `json:"repository"`
}

type dockerhubPayload struct {
	Repository *struct {
		RepoName string `json:"repo_name"`
	} `json:"repository"`
}

type quayPayload struct {
	DockerURL string `json:"docker_url"`
}

type harborPayload struct {
	EventData *struct {
		Resources []*struct {
			ResourceURL string `json:"resource_url"`
		} `json:"resources"`
	} `json:"event_data"`
}

type genericPayload struct {
	RepoURL  string   `json:"repoURL"`
	RepoURLs []string `json:"repoURLs"`
}

// repoURLs extracts the repository URLs a payload is about. Missing or null fields are
// not an error here; the caller rejects a payload that names no repository.
func repoURLs(provider string, body []byte) ([]string, error) {
	var urls []string
	add := func(s ...string) {
		for _, u := range s {
			if u = strings.TrimSpace(u); u != "" {
				urls = append(urls, u)
			}
		}
	}
	var err error
	switch provider {
	case GitHub, Gitea:
		// Gitea's push payload has GitHub's repository fields.
		var p githubPayload
		if err = json.Unmarshal(body, &p); err == nil {
			if p.Repository != nil {
				add(p.Repository.HTMLURL, p.Repository.CloneURL, p.Repository.SSHURL)
			}
			for _, pkg := range []*githubPackage{p.Package, p.RegistryPackage} {
				if pkg != nil && pkg.PackageVersion != nil {
					add(pkg.PackageVersion.PackageURL)
				}
			}
		}
	case GitLab:
		var p gitlabPayload
		if err = json.Unmarshal(body, &p); err == nil {
			if p.Project != nil {
				add(p.Project.GitHTTPURL, p.Project.GitSSHURL, p.Project.WebURL)
			}
			if p.Repository != nil {
				add(p.Repository.GitHTTPURL, p.Repository.Homepage)
			}
		}
	case DockerHub:
		var p dockerhubPayload
		if err = json.Unmarshal(body, &p); err == nil && p.Repository != nil && p.Repository.RepoName != "" {
			add("docker.io/" + p.Repository.RepoName)
		}
	case Quay:
		var p quayPayload
		if err = json.Unmarshal(body, &p); err == nil {
			add(p.DockerURL)
		}
	case Harbor:
		var p harborPayload
		if err = json.Unmarshal(body, &p); err == nil && p.EventData != nil {
			for _, r := range p.EventData.Resources {
				if r != nil {
					add(r.ResourceURL)
				}
			}
		}
	case Generic:
		var p genericPayload
		if err = json.Unmarshal(body, &p); err == nil {
			add(p.RepoURL)
			add(p.RepoURLs...)
		}
	default:
		return nil, fmt.Errorf("unknown provider %q", provider)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing %s payload: %w", provider, err)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("%s payload names no repository", provider)
	}
	return urls, nil
}
