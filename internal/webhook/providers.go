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
	"net/url"
	"strings"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Provider names, as in ProjectConfig.spec.webhookReceivers[].
const (
	GitHub      = "github"
	GitLab      = "gitlab"
	Gitea       = "gitea"
	DockerHub   = "dockerhub"
	Quay        = "quay"
	Harbor      = "harbor"
	Generic     = "generic"
	Bitbucket   = "bitbucket"
	Artifactory = "artifactory"
	Azure       = "azure"
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
	case r.Bitbucket != nil:
		return Bitbucket, r.Bitbucket.SecretRef.Name
	case r.Artifactory != nil:
		return Artifactory, r.Artifactory.SecretRef.Name
	case r.Azure != nil:
		return Azure, r.Azure.SecretRef.Name
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
		// Signed, or the secret as a bearer token for senders that cannot sign (a Kargo
		// user's CI, which Kargo authenticates by the URL alone).
		ok = validHMAC(r.Header.Get(SignatureHeader), body, secret) || equalSecret(bearerToken(r), secret)
	case Bitbucket:
		ok = validHMAC(r.Header.Get("X-Hub-Signature"), body, secret)
	case Artifactory:
		// Artifactory sends the bare hex digest, without "sha256=".
		ok = validHMAC("sha256="+r.Header.Get("X-Jfrog-Event-Auth"), body, secret)
	case GitLab:
		ok = equalSecret(r.Header.Get("X-Gitlab-Token"), secret)
	case DockerHub, Quay, Harbor, Azure:
		ok = equalSecret(bearerToken(r), secret)
		// Azure DevOps service hooks send basic authentication; the password is the secret.
		if _, pw, basic := r.BasicAuth(); !ok && provider == Azure && basic {
			ok = equalSecret(pw, secret)
		}
	}
	if !ok {
		return errUnauthorized
	}
	return nil
}

// bearerToken is the secret a sender that cannot sign presents: the ?token= query, or
// the Authorization header ("Bearer <secret>" or the bare secret, as Harbor sends it).
func bearerToken(r *http.Request) string {
	if tok := r.URL.Query().Get("token"); tok != "" {
		return tok
	}
	tok := r.Header.Get("Authorization")
	if b, found := strings.CutPrefix(tok, "Bearer "); found {
		return b
	}
	return tok
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
	case Bitbucket:
		switch ev := r.Header.Get("X-Event-Key"); ev {
		case "repo:push", "repo:refs_changed":
			return nil
		case "diagnostics:ping", "pr:merged", "pr:declined":
			// Data Center's pull request events: Haul opens no pull requests there.
			return errIgnoredEvent
		default:
			if strings.HasPrefix(ev, "pullrequest:") {
				return nil
			}
			return fmt.Errorf("unsupported Bitbucket event %q", ev)
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

// bitbucketPayload covers Bitbucket Cloud (links.html is one link) and Data Center
// (links.clone is a list); the two put different shapes under the same key, so links
// is decoded in a second step.
type bitbucketPayload struct {
	Repository *struct {
		Links map[string]json.RawMessage `json:"links"`
	} `json:"repository"`
}

type bitbucketLink struct {
	Href string `json:"href"`
}

type artifactoryPayload struct {
	Domain    string `json:"domain"`
	EventType string `json:"event_type"`
	Origin    string `json:"jpd_origin"`
	Data      *struct {
		Path      string `json:"path"`
		RepoKey   string `json:"repo_key"`
		ImageType string `json:"image_type"`
	} `json:"data"`
}

type azurePayload struct {
	// ACR
	Action string `json:"action"`
	Target *struct {
		Repository string `json:"repository"`
	} `json:"target"`
	Request *struct {
		Host string `json:"host"`
	} `json:"request"`
	// Azure DevOps
	EventType string `json:"eventType"`
	Resource  *struct {
		Repository *struct {
			RemoteURL string `json:"remoteUrl"`
		} `json:"repository"`
	} `json:"resource"`
}

// bitbucketURLs reads a Bitbucket repository's links: html (Cloud) and clone (Data Center).
func bitbucketURLs(links map[string]json.RawMessage) []string {
	var out []string
	var one bitbucketLink
	if json.Unmarshal(links["html"], &one) == nil && one.Href != "" {
		out = append(out, one.Href)
	}
	var many []bitbucketLink
	if json.Unmarshal(links["clone"], &many) == nil {
		for _, l := range many {
			out = append(out, l.Href)
		}
	}
	return out
}

// artifactoryURL infers the image or OCI chart repository of a pushed event: the origin's
// host, the repository (virtualRepo when set, else data.repo_key) and data.path without
// its last two segments (the tag and manifest.json), as Kargo does.
func artifactoryURL(p artifactoryPayload, virtualRepo string) (string, error) {
	if p.EventType != "pushed" || p.Domain != "docker" {
		return "", fmt.Errorf("artifactory event %q of domain %q: only pushed events of the docker domain are handled", p.EventType, p.Domain)
	}
	if p.Data == nil {
		return "", errors.New("artifactory payload has no data")
	}
	if p.Data.ImageType != "docker" && p.Data.ImageType != "oci" {
		return "", fmt.Errorf("artifactory image type %q is not supported (docker or oci)", p.Data.ImageType)
	}
	origin, err := url.Parse(p.Origin)
	if err != nil || origin.Host == "" {
		return "", fmt.Errorf("artifactory jpd_origin %q is not a URL with a host", p.Origin)
	}
	parts := strings.Split(p.Data.Path, "/")
	if len(parts) < 3 {
		return "", fmt.Errorf("artifactory data.path %q has no image name", p.Data.Path)
	}
	repo := p.Data.RepoKey
	if virtualRepo != "" {
		repo = virtualRepo
	}
	if repo == "" {
		return "", errors.New("artifactory data.repo_key is empty")
	}
	return strings.Join(append([]string{origin.Host, repo}, parts[:len(parts)-2]...), "/"), nil
}

// azureURLs reads an ACR push (request.host/target.repository) or an Azure DevOps
// git.push (resource.repository.remoteUrl); ACR's ping and DevOps' other events are ignored.
func azureURLs(p azurePayload) ([]string, error) {
	switch {
	case p.EventType == "git.push":
		if p.Resource != nil && p.Resource.Repository != nil {
			return []string{p.Resource.Repository.RemoteURL}, nil
		}
		return nil, nil
	case p.EventType != "":
		if strings.HasPrefix(p.EventType, "git.pullrequest.") {
			return nil, errIgnoredEvent
		}
		return nil, fmt.Errorf("unsupported Azure DevOps event %q", p.EventType)
	case p.Action == "push":
		if p.Request != nil && p.Target != nil && p.Request.Host != "" && p.Target.Repository != "" {
			return []string{p.Request.Host + "/" + p.Target.Repository}, nil
		}
		return nil, nil
	case p.Action == "ping":
		return nil, errIgnoredEvent
	default:
		return nil, fmt.Errorf("unsupported Azure Container Registry action %q", p.Action)
	}
}

// repoURLs extracts the repository URLs a payload is about. Missing or null fields are
// not an error here; the caller rejects a payload that names no repository.
func repoURLs(provider string, body []byte) ([]string, error) {
	return receiverURLs(provider, "", body)
}

// receiverURLs is repoURLs with the receiver's Artifactory virtual repository.
func receiverURLs(provider, virtualRepo string, body []byte) ([]string, error) {
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
	case Bitbucket:
		var p bitbucketPayload
		if err = json.Unmarshal(body, &p); err == nil && p.Repository != nil {
			add(bitbucketURLs(p.Repository.Links)...)
		}
	case Artifactory:
		var p artifactoryPayload
		if err = json.Unmarshal(body, &p); err == nil {
			u, aerr := artifactoryURL(p, virtualRepo)
			if aerr != nil {
				return nil, aerr
			}
			add(u)
		}
	case Azure:
		var p azurePayload
		if err = json.Unmarshal(body, &p); err == nil {
			us, aerr := azureURLs(p)
			if aerr != nil {
				return nil, aerr
			}
			add(us...)
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
