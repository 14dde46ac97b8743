package testservers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// GiteaVersion is the Gitea release hack/gitea builds.
const GiteaVersion = "v1.26.0"

// Gitea is a real Gitea server on 127.0.0.1 with an admin user and an access token,
// for the pull-request steps' tests.
type Gitea struct {
	// URL is the server's base URL, http://127.0.0.1:<port>, without a trailing slash.
	URL string
	// RootURL is the URL Gitea calls itself by (its ROOT_URL, without the trailing
	// slash): in clone URLs, pull request links and webhook payloads. It is URL unless
	// the server was started under another host name (StartGiteaNamed).
	RootURL string
	// AdminUser, AdminPassword and AdminToken are the admin account; the token has
	// every scope.
	AdminUser, AdminPassword, AdminToken string

	bin, dir, config string
	cmd              *exec.Cmd
	logs             *lockedBuffer
}

// DefaultGiteaBinary is the binary HAUL_GITEA_BINARY names, or where hack/gitea/build.sh
// puts it.
func DefaultGiteaBinary() string {
	if p := os.Getenv("HAUL_GITEA_BINARY"); p != "" {
		return p
	}
	root := os.Getenv("HAUL_CACHE_DIR")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "haul")
	}
	return filepath.Join(root, "gitea-"+GiteaVersion, "gitea")
}

// StartGitea starts a Gitea server for the test and stops it at cleanup. It skips the
// test only when no binary is configured and none is cached (run `make gitea`); a
// configured binary that does not start fails the test.
func StartGitea(t testing.TB) *Gitea {
	t.Helper()
	return StartGiteaNamed(t, "")
}

// StartGiteaNamed is StartGitea with Gitea calling itself http://<host>:<port> (its
// ROOT_URL), for a host name that resolves to 127.0.0.1 (such as gitea.localhost,
// which git resolves itself and Go code through the test's resolver). The helpers
// still reach it at URL. An empty host means 127.0.0.1.
func StartGiteaNamed(t testing.TB, host string) *Gitea {
	t.Helper()
	bin := DefaultGiteaBinary()
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("HAUL_GITEA_BINARY") != "" {
			t.Fatalf("HAUL_GITEA_BINARY=%s: %v", bin, err)
		}
		t.Skipf("no Gitea binary at %s: run `make gitea` (hack/gitea/build.sh) or set HAUL_GITEA_BINARY", bin)
	}
	g, err := startGitea(bin, t.TempDir(), host)
	if err != nil {
		t.Fatalf("starting Gitea: %v", err)
	}
	t.Cleanup(g.stop)
	return g
}

func startGitea(bin, dir, host string) (*Gitea, error) {
	static, err := giteaSourceDir()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	g := &Gitea{
		URL:           fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		AdminUser:     "haul-admin",
		AdminPassword: "haul-admin-password-1",
		bin:           bin, dir: dir,
		config: filepath.Join(dir, "app.ini"),
		logs:   &lockedBuffer{},
	}
	g.RootURL = g.URL
	if host != "" {
		g.RootURL = fmt.Sprintf("http://%s:%d", host, ports[0])
	}
	ini := fmt.Sprintf(`APP_NAME = Haul test forge
RUN_MODE = prod
WORK_PATH = %[1]s
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]d
ROOT_URL = %[3]s/
; Links in API answers and webhook payloads always use ROOT_URL, not the Host header
; of the request that caused them (Gitea 1.26's default, auto): the helpers call
; Gitea at URL even when it is named otherwise.
PUBLIC_URL_DETECTION = never
DOMAIN = 127.0.0.1
OFFLINE_MODE = true
DISABLE_SSH = true
START_SSH_SERVER = false
STATIC_ROOT_PATH = %[4]s
APP_DATA_PATH = %[1]s/data
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = %[1]s/data/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = %[1]s/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = haul-test-secret-key
INTERNAL_TOKEN = eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYmYiOjE3MDAwMDAwMDB9.haul-test-internal-token
PASSWORD_HASH_ALGO = pbkdf2_hi
MIN_PASSWORD_LENGTH = 6
PASSWORD_COMPLEXITY = off

[oauth2]
ENABLE = false

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = false
DEFAULT_ALLOW_CREATE_ORGANIZATION = true

[webhook]
ALLOWED_HOST_LIST = loopback
DELIVER_TIMEOUT = 5

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[queue]
TYPE = channel

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[cron]
ENABLED = false

[log]
MODE = console
LEVEL = Warn
ROOT_PATH = %[1]s/log

[actions]
ENABLED = false

[packages]
ENABLED = false
`, dir, ports[0], g.RootURL, static)
	if err := os.WriteFile(g.config, []byte(ini), 0o600); err != nil {
		return nil, err
	}
	if _, err := g.admin("migrate"); err != nil {
		return nil, err
	}
	if _, err := g.admin("admin", "user", "create", "--admin", "--username", g.AdminUser,
		"--password", g.AdminPassword, "--email", "admin@haul.test", "--must-change-password=false"); err != nil {
		return nil, err
	}
	tok, err := g.admin("admin", "user", "generate-access-token", "--username", g.AdminUser,
		"--token-name", "haul-tests", "--scopes", "all", "--raw")
	if err != nil {
		return nil, err
	}
	// The output mixes stderr (warnings, under load) with the token on stdout:
	// take the line that is a token, not whatever came last.
	if g.AdminToken = accessToken(tok); g.AdminToken == "" {
		return nil, fmt.Errorf("gitea generate-access-token printed no token: %s", tok)
	}

	g.cmd = exec.Command(bin, "web", "--config", g.config, "--work-path", dir)
	g.cmd.Dir = dir
	g.cmd.Env = giteaEnv(dir)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting gitea web: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = g.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(g.URL + "/api/v1/version")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g, nil
			}
		}
		select {
		case <-done:
			return nil, fmt.Errorf("gitea web exited: %s", g.Logs(4000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, fmt.Errorf("gitea did not answer at %s within 60s: %s", g.URL, g.Logs(4000))
		}
	}
}

// admin runs a gitea subcommand against this server's configuration.
func (g *Gitea) admin(args ...string) (string, error) {
	cmd := exec.Command(g.bin, append(args, "--config", g.config, "--work-path", g.dir)...)
	cmd.Dir = g.dir
	cmd.Env = giteaEnv(g.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("gitea %s: %w: %s", args[0], err, out)
	}
	return string(out), nil
}

func giteaEnv(dir string) []string {
	return append(os.Environ(), "GITEA_WORK_DIR="+dir, "HOME="+dir, "USER=root", "GIT_TERMINAL_PROMPT=0")
}

// accessToken finds the access token (40 hex digits) in generate-access-token's output.
func accessToken(out string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if len(l) == 40 && strings.Trim(l, "0123456789abcdef") == "" {
			return l
		}
	}
	return ""
}

func (g *Gitea) stop() {
	if g.cmd != nil && g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
}

// Logs returns up to the last max bytes of the server's output.
func (g *Gitea) Logs(max int) string {
	s := g.logs.String()
	if len(s) > max {
		s = s[len(s)-max:]
	}
	return s
}

// giteaSourceDir is Gitea's module source in the module cache: the server reads its
// locale files and templates from there (STATIC_ROOT_PATH), since the build does not
// embed them.
func giteaSourceDir() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "code.gitea.io/gitea@"+GiteaVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating Gitea's source (go mod download code.gitea.io/gitea@%s): %w", GiteaVersion, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("decoding go mod download output: %w", err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download code.gitea.io/gitea@%s: %s", GiteaVersion, m.Error)
	}
	return m.Dir, nil
}

// API calls the Gitea REST API (path below /api/v1) as the admin, or as the user
// named by sudo when it is not empty, with body encoded as JSON; it decodes a 2xx
// answer into out when out is not nil.
func (g *Gitea) API(ctx context.Context, method, path, sudo string, body, out any) error {
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.URL+"/api/v1"+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+g.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	if sudo != "" {
		req.Header.Set("Sudo", sudo)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("gitea %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(raw.String()))
	}
	if out != nil && raw.Len() > 0 {
		if err := json.Unmarshal(raw.Bytes(), out); err != nil {
			return fmt.Errorf("decoding gitea %s %s: %w", method, path, err)
		}
	}
	return nil
}

// CreateUser creates a non-admin user (a reviewer, say) and returns its password.
func (g *Gitea) CreateUser(ctx context.Context, name string) (string, error) {
	pass := name + "-password-1"
	f := false
	err := g.API(ctx, http.MethodPost, "/admin/users", "", map[string]any{
		"username": name, "email": name + "@haul.test", "password": pass, "must_change_password": &f,
	}, nil)
	return pass, err
}

// AddCollaborator gives user write access to the admin's repository.
func (g *Gitea) AddCollaborator(ctx context.Context, repo, user string) error {
	return g.API(ctx, http.MethodPut, "/repos/"+g.AdminUser+"/"+repo+"/collaborators/"+user, "",
		map[string]any{"permission": "write"}, nil)
}

// CreateRepo creates a repository owned by the admin with one commit on main holding
// files (path → contents), and returns its clone URL (without credentials).
func (g *Gitea) CreateRepo(ctx context.Context, name string, files map[string]string) (string, error) {
	if err := g.API(ctx, http.MethodPost, "/user/repos", "", map[string]any{
		"name": name, "default_branch": "main", "auto_init": false, "private": false,
	}, nil); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "haul-gitea-seed-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if _, err := Git(work, "init", "--initial-branch=main"); err != nil {
		return "", err
	}
	if _, err := g.commitAndPush(work, name, "main", files, "seed"); err != nil {
		return "", err
	}
	return g.RepoURL(name), nil
}

// RepoURL is the clone URL of the admin's repository name.
func (g *Gitea) RepoURL(name string) string {
	return g.URL + "/" + g.AdminUser + "/" + name + ".git"
}

// CloneURL is the clone URL Gitea shows for the admin's repository name: RepoURL under
// RootURL.
func (g *Gitea) CloneURL(name string) string {
	return g.RootURL + "/" + g.AdminUser + "/" + name + ".git"
}

// authURL is RepoURL with the admin's credentials, for git on the command line.
func (g *Gitea) authURL(name string) string {
	u, _ := url.Parse(g.RepoURL(name))
	u.User = url.UserPassword(g.AdminUser, g.AdminToken)
	return u.String()
}

// Push commits files on branch of the admin's repository name, starting from base
// (a branch that exists), and pushes it; it returns the new commit's SHA.
func (g *Gitea) Push(ctx context.Context, name, base, branch string, files map[string]string, message string) (string, error) {
	work, err := os.MkdirTemp("", "haul-gitea-push-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if _, err := Git(work, "clone", "--quiet", "--branch", base, g.authURL(name), "."); err != nil {
		return "", redactToken(err, g.AdminToken)
	}
	return g.commitAndPush(work, name, branch, files, message)
}

func (g *Gitea) commitAndPush(work, name, branch string, files map[string]string, message string) (string, error) {
	for p, c := range files {
		full := filepath.Join(work, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := Git(work, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := Git(work, "commit", "--quiet", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	if _, err := Git(work, "push", "--quiet", "--force", g.authURL(name), "HEAD:refs/heads/"+branch); err != nil {
		return "", redactToken(err, g.AdminToken)
	}
	return Git(work, "rev-parse", "HEAD")
}

// BranchHead returns the SHA at the head of branch in the admin's repository name.
func (g *Gitea) BranchHead(ctx context.Context, name, branch string) (string, error) {
	var b struct {
		Commit struct {
			ID string `json:"id"`
		} `json:"commit"`
	}
	if err := g.API(ctx, http.MethodGet, "/repos/"+g.AdminUser+"/"+name+"/branches/"+url.PathEscape(branch), "", nil, &b); err != nil {
		return "", err
	}
	return b.Commit.ID, nil
}

// AddWebhook registers a Gitea-type webhook for pull-request events on the admin's
// repository name that posts to target.
func (g *Gitea) AddWebhook(ctx context.Context, name, target, secret string) error {
	return g.API(ctx, http.MethodPost, "/repos/"+g.AdminUser+"/"+name+"/hooks", "", map[string]any{
		"type": "gitea", "active": true, "events": []string{"pull_request"},
		"config": map[string]string{"url": target, "content_type": "json", "secret": secret},
	}, nil)
}

// MergePR merges pull request number of the admin's repository name as user (the
// admin when empty) with style (merge, squash, rebase, ...).
func (g *Gitea) MergePR(ctx context.Context, name string, number int64, user, style string) error {
	return g.API(ctx, http.MethodPost, "/repos/"+g.AdminUser+"/"+name+"/pulls/"+strconv.FormatInt(number, 10)+"/merge", user,
		map[string]any{"Do": style}, nil)
}

// ClosePR closes pull request number of the admin's repository name, unmerged, as user.
func (g *Gitea) ClosePR(ctx context.Context, name string, number int64, user string) error {
	return g.API(ctx, http.MethodPatch, "/repos/"+g.AdminUser+"/"+name+"/pulls/"+strconv.FormatInt(number, 10), user,
		map[string]any{"state": "closed"}, nil)
}

// OpenPRs counts the open pull requests of the admin's repository name.
func (g *Gitea) OpenPRs(ctx context.Context, name string) (int, error) {
	var prs []json.RawMessage
	err := g.API(ctx, http.MethodGet, "/repos/"+g.AdminUser+"/"+name+"/pulls?state=open&limit=50", "", nil, &prs)
	return len(prs), err
}

func redactToken(err error, token string) error {
	if err == nil || token == "" {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "REDACTED"))
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
