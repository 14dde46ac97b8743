package warehouse

import (
	"net/url"
	"strings"
)

// NormalizeRepoURL reduces a Git, image or chart repository reference to a canonical
// "host/path" form so that the URL a webhook sends can be matched against the URL a
// Warehouse subscribes to. It drops the scheme (https, http, ssh, git, oci), user info,
// default ports, a trailing slash and ".git" suffix, a tag or digest on image
// references, turns scp-like "git@host:org/repo" into "host/org/repo", folds Docker
// Hub's aliases into docker.io (adding "library/" to official images), and lowercases
// everything: hosts are case-insensitive and GitHub, GitLab and registries treat paths
// case-insensitively or require lowercase, so a false match costs at most one extra poll.
func NormalizeRepoURL(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	host, path := "", ""
	hadScheme := false
	if i := strings.Index(s, "://"); i > 0 {
		hadScheme = true
		scheme := strings.ToLower(s[:i])
		u, err := url.Parse(scheme + s[i:])
		if err != nil || u.Host == "" {
			rest := s[i+3:]
			if at := strings.LastIndex(rest, "@"); at >= 0 && at < strings.Index(rest+"/", "/") {
				rest = rest[at+1:]
			}
			host, path, _ = strings.Cut(rest, "/")
		} else {
			host, path = u.Host, u.Path
			if p := u.Port(); (p == "443" && scheme == "https") || (p == "80" && scheme == "http") || (p == "22" && scheme == "ssh") {
				host = u.Hostname()
			}
		}
	} else if at := strings.Index(s, "@"); at >= 0 && strings.Contains(s[at:], ":") && !strings.Contains(s[:at], "/") {
		// scp-like git@host:org/repo
		rest := s[at+1:]
		host, path, _ = strings.Cut(rest, ":")
		hadScheme = true
	} else {
		first, rest, found := strings.Cut(s, "/")
		if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
			host, path = first, rest
		} else {
			host, path = "docker.io", s
		}
	}
	host = strings.ToLower(host)
	path = strings.Trim(path, "/")
	if !hadScheme || isDockerHub(host) || strings.HasPrefix(strings.ToLower(s), "oci://") {
		path = stripImageRef(path)
	}
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimSuffix(strings.TrimSuffix(path, "/"), ".git")
	if isDockerHub(host) {
		host = "docker.io"
		if path != "" && !strings.Contains(path, "/") {
			path = "library/" + path
		}
	}
	if path == "" || host == "" {
		// Without a repository path this names no repository at all.
		return ""
	}
	return strings.ToLower(host + "/" + path)
}

func isDockerHub(host string) bool {
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "hub.docker.com":
		return true
	}
	return false
}

// stripImageRef removes ":tag" and "@digest" from the last path component.
func stripImageRef(path string) string {
	if i := strings.Index(path, "@"); i >= 0 {
		path = path[:i]
	}
	last := strings.LastIndex(path, "/")
	if i := strings.LastIndex(path, ":"); i > last {
		path = path[:i]
	}
	return path
}
