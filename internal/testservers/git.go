package testservers

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// GitServer serves bare repositories under Root over smart HTTP with `git http-backend`.
type GitServer struct {
	Root     string
	URL      string // http://127.0.0.1:<port>
	srv      *http.Server
	ln       net.Listener
	requests atomic.Int64
	postsMu  sync.Mutex
	posts    []GitPost
	// Username and Password, when set, are required with HTTP basic auth.
	Username, Password string
	onPush             atomic.Pointer[func(repo string)]
}

// OnPush registers f to be called, on the serving goroutine, after every push
// (git-receive-pack exchange) the server has answered, with the repository's name (the
// path without ".git"). The refs are updated by then, so a benchmark can learn when a
// commit landed without polling the repository. nil unregisters.
func (s *GitServer) OnPush(f func(repo string)) {
	if f == nil {
		s.onPush.Store(nil)
		return
	}
	s.onPush.Store(&f)
}

// StartGitServer serves the bare repositories in root (created if missing).
func StartGitServer(root string) (*GitServer, error) {
	return StartGitServerOn(root, "127.0.0.1:0")
}

// StartGitServerOn is StartGitServer on a chosen address.
func StartGitServerOn(root, addr string) (*GitServer, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git is required for the git server: %w", err)
	}
	execPath, err := exec.Command(gitPath, "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("git --exec-path: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &GitServer{Root: root, URL: "http://" + ln.Addr().String(), ln: ln}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
		},
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.Method == http.MethodPost {
			s.postsMu.Lock()
			s.posts = append(s.posts, GitPost{Service: path.Base(r.URL.Path), UserAgent: r.UserAgent()})
			s.postsMu.Unlock()
		}
		if s.Username != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != s.Username || p != s.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		// http-backend refuses pushes without an authenticated user; this server is for
		// tests and the local demo, so every caller counts as one.
		r.Header.Set("Remote-User", "haul")
		backend.ServeHTTP(w, r)
		if f := s.onPush.Load(); f != nil && r.Method == http.MethodPost && path.Base(r.URL.Path) == "git-receive-pack" {
			(*f)(strings.TrimSuffix(strings.TrimPrefix(path.Dir(r.URL.Path), "/"), ".git"))
		}
	})}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Requests counts HTTP requests served, so tests can prove that nothing was fetched.
func (s *GitServer) Requests() int64 { return s.requests.Load() }

// GitPost is one POST the server answered: a fetch (git-upload-pack) or a push
// (git-receive-pack), and the client's User-Agent.
type GitPost struct {
	Service   string
	UserAgent string
}

// Posts lists the fetch and push exchanges served so far, oldest first.
func (s *GitServer) Posts() []GitPost {
	s.postsMu.Lock()
	defer s.postsMu.Unlock()
	return append([]GitPost(nil), s.posts...)
}

// CountPosts counts the exchanges of one service (git-upload-pack, git-receive-pack).
func (s *GitServer) CountPosts(service string) int {
	n := 0
	for _, p := range s.Posts() {
		if p.Service == service {
			n++
		}
	}
	return n
}

// RepoURL is the clone URL of the named repository (e.g. "gitops" → http://…/gitops.git).
func (s *GitServer) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

// InitBare creates an empty bare repository with default branch main.
func (s *GitServer) InitBare(name string) (string, error) {
	dir := filepath.Join(s.Root, name+".git")
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	out, err := exec.Command("git", "init", "--bare", "--initial-branch=main", dir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git init --bare: %w: %s", err, out)
	}
	// Allow pushes over http-backend without a hook-based auth setup.
	if out, err := exec.Command("git", "-C", dir, "config", "http.receivepack", "true").CombinedOutput(); err != nil {
		return "", fmt.Errorf("git config: %w: %s", err, out)
	}
	return dir, nil
}

// Close stops the server.
func (s *GitServer) Close() error { return s.srv.Close() }
