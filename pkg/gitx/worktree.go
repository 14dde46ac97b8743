package gitx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Worktree is a checkout of one remote in a Promotion's work dir. Its objects are
// borrowed from the cache (alternates), so creating one copies no history.
type Worktree struct {
	Dir  string
	URL  string
	Auth *Auth
	ID   *Identity
	// InsecureSkipTLSVerify is set when the tree was checked out with Auth's
	// InsecureSkipTLSVerify; it is kept in .git/config, so Open restores it.
	InsecureSkipTLSVerify bool
}

// Checkout describes what to check out.
type Checkout struct {
	Branch string
	Tag    string
	Commit string
	// Create makes Branch as an orphan (empty history) when the remote lacks it.
	Create bool
	// Scope limits reuse of pooled work trees to checkouts with the same scope (the
	// project), so one project never sees another's leftover objects.
	Scope string
}

// ErrRefNotFound is returned when the branch, tag or commit does not exist remotely.
var ErrRefNotFound = errors.New("not found in the remote repository")

// unreachableError is a commit the cache still holds that the remote's branches and
// tags no longer reach. It is an ErrRefNotFound.
type unreachableError struct{ msg string }

func (e *unreachableError) Error() string { return e.msg }
func (e *unreachableError) Unwrap() error { return ErrRefNotFound }

// Clone fetches url into the cache and checks co out into dir.
func (c *Cache) Clone(ctx context.Context, url string, auth *Auth, id *Identity, dir string, co Checkout) (*Worktree, error) {
	cacheDir, err := c.Fetch(ctx, url, auth)
	if err != nil {
		return nil, err
	}
	return c.Checkout(ctx, cacheDir, url, auth, id, dir, co)
}

// Checkout makes dir a work tree of url at co, borrowing objects from cacheDir (as
// returned by Fetch). The repository is written directly (no `git clone`): HEAD, refs,
// config and an alternates file, then one `git reset --hard` fills index and files.
// An orphan branch needs no git process at all, which is how a missing stage branch is
// created with git 2.39 (no `worktree add --orphan`).
func (c *Cache) Checkout(ctx context.Context, cacheDir, url string, auth *Auth, id *Identity, dir string, co Checkout) (*Worktree, error) {
	if err := c.Policy.Check("repoURL", url); err != nil {
		return nil, err
	}
	for _, name := range []string{co.Branch, co.Tag, co.Commit} {
		if strings.HasPrefix(name, "-") {
			return nil, fmt.Errorf("%q must not start with '-': %w", name, ErrRefNotFound)
		}
	}
	var ref, sha string
	switch {
	case co.Commit != "":
		out, err := run(ctx, cacheDir, nil, nil, "rev-parse", "-q", "--verify", co.Commit+"^{commit}")
		if err != nil {
			return nil, fmt.Errorf("commit %s of %s: %w", co.Commit, Redact(url), ErrRefNotFound)
		}
		// The cache keeps objects a force-push orphaned. A commit that no branch or
		// tag of the remote holds any more is refused, not checked out from there.
		holders, err := run(ctx, cacheDir, nil, nil, "for-each-ref", "--count=1", "--format=%(refname)", "--contains", out, "refs/heads", "refs/tags")
		if err != nil {
			return nil, fmt.Errorf("commit %s of %s: finding the branches that hold it: %w", co.Commit, Redact(url), err)
		}
		if holders == "" {
			return nil, &unreachableError{fmt.Sprintf("commit %s of %s is not reachable from any branch or tag of the remote repository (was the branch force-pushed?)", co.Commit, Redact(url))}
		}
		sha = out
	case co.Tag != "":
		out, err := run(ctx, cacheDir, nil, nil, "rev-parse", "-q", "--verify", "refs/tags/"+co.Tag+"^{commit}")
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", co.Tag, ErrRefNotFound)
		}
		sha = out
	default:
		branch := co.Branch
		if branch == "" {
			b, err := c.DefaultBranch(ctx, url, auth)
			if err != nil {
				return nil, err
			}
			branch = b
		}
		ref = "refs/heads/" + branch
		// Branch refs always point at commits; reading them needs no git process.
		sha = readRef(cacheDir, ref)
		if sha == "" && !co.Create {
			return nil, fmt.Errorf("branch %s: %w", branch, ErrRefNotFound)
		}
	}
	w := &Worktree{Dir: dir, URL: url, Auth: auth, ID: id, InsecureSkipTLSVerify: auth.insecure()}
	// Trees are pooled per branch, so a stage branch's tree (often very different from
	// main's) is reused for that branch and few files change between Promotions.
	poolKey := cacheDir + "|" + co.Scope + "|" + ref
	uses, pooled := 0, false
	if sha != "" {
		uses, pooled = c.take(poolKey, dir)
	}
	if pooled {
		if err := rewriteRepoMeta(dir, url, ref, sha, id, w.InsecureSkipTLSVerify); err != nil {
			return nil, fmt.Errorf("reusing work tree: %w", err)
		}
		if _, err := w.Git(ctx, "reset", "-q", "--hard"); err != nil {
			return nil, err
		}
		if _, err := w.Git(ctx, "clean", "-q", "-ffdx"); err != nil {
			return nil, err
		}
	} else {
		if err := writeRepo(dir, cacheDir, url, ref, sha, id, w.InsecureSkipTLSVerify); err != nil {
			return nil, fmt.Errorf("creating work tree: %w", err)
		}
		if sha != "" {
			if _, err := w.Git(ctx, "reset", "-q", "--hard"); err != nil {
				return nil, err
			}
		}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		c.track(poolKey, abs, uses)
	}
	return w, nil
}

// rewriteRepoMeta points a pooled tree's HEAD, refs and config at the new checkout,
// keeping its index (so unchanged files are not rewritten) and alternates.
func rewriteRepoMeta(dir, url, ref, sha string, id *Identity, insecure bool) error {
	gd := filepath.Join(dir, ".git")
	for _, d := range []string{"refs/heads", "refs/remotes", "rebase-merge", "rebase-apply", "MERGE_HEAD", "CHERRY_PICK_HEAD", "index.lock"} {
		if err := os.RemoveAll(filepath.Join(gd, d)); err != nil {
			return err
		}
	}
	_ = os.Remove(filepath.Join(gd, "packed-refs"))
	if err := os.MkdirAll(filepath.Join(gd, "refs/heads"), 0o755); err != nil {
		return err
	}
	if err := writeConfig(gd, url, id, insecure); err != nil {
		return err
	}
	return writeHead(gd, ref, sha)
}

// writeRepo lays out dir/.git by hand.
func writeRepo(dir, cacheDir, url, ref, sha string, id *Identity, insecure bool) error {
	// A leftover directory (from a crashed run of the same Promotion) is replaced.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	gd := filepath.Join(dir, ".git")
	for _, d := range []string{"objects/info", "objects/pack", "refs/heads", "refs/tags"} {
		if err := os.MkdirAll(filepath.Join(gd, d), 0o755); err != nil {
			return err
		}
	}
	absCache, err := filepath.Abs(cacheDir)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(gd, "objects/info/alternates"), []byte(filepath.Join(absCache, "objects")+"\n"), 0o644); err != nil {
		return err
	}
	if err := writeConfig(gd, url, id, insecure); err != nil {
		return err
	}
	return writeHead(gd, ref, sha)
}

// writeConfig writes the whole of a work tree's .git/config: Haul's known content and
// nothing else. It replaces the file (never writes through a symlink in its place).
// insecure records that the tree was cloned with TLS verification off, for the steps
// that open it later (git-push); git itself never reads the key, and the command-level
// http.sslVerify decides.
func writeConfig(gd, url string, id *Identity, insecure bool) error {
	var cfg strings.Builder
	cfg.WriteString("[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = false\n")
	fmt.Fprintf(&cfg, "[remote \"origin\"]\n\turl = %s\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n", quoteConfig(url))
	if id != nil {
		fmt.Fprintf(&cfg, "[user]\n\tname = %s\n\temail = %s\n", quoteConfig(id.Name), quoteConfig(id.Email))
	}
	if insecure {
		cfg.WriteString("[haul]\n\tinsecureSkipTLSVerify = true\n")
	}
	p := filepath.Join(gd, "config")
	tmp := p + ".haul-tmp"
	if err := os.WriteFile(tmp, []byte(cfg.String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// redirecting are files in a git dir that make git read configuration or a repository
// from somewhere else (a linked work tree's common dir, per-worktree config). Haul never
// writes them, so they are removed before every git call in a work tree.
var redirecting = []string{"commondir", "config.worktree", "info/attributes"}

// resetGitDir puts w's .git back to what Haul knows before git runs in it: .git must be
// a directory (not a link or a "gitdir:" file), its config is rewritten from w's remote
// URL and identity, and files that would redirect git are removed. Whatever a step or
// a hostile repository managed to plant in .git/config (core.fsmonitor, filters,
// include.path, url.*.insteadOf, another remote) is gone before git reads it.
func (w *Worktree) resetGitDir(dir string) (string, error) {
	gd := filepath.Join(dir, ".git")
	fi, err := os.Lstat(gd)
	if err != nil || !fi.IsDir() {
		return "", errors.New("not a git work tree: .git is missing or not a directory")
	}
	for _, f := range redirecting {
		if err := os.RemoveAll(filepath.Join(gd, f)); err != nil {
			return "", err
		}
	}
	if err := writeConfig(gd, w.URL, w.ID, w.InsecureSkipTLSVerify); err != nil {
		return "", fmt.Errorf("writing work tree config: %w", err)
	}
	return gd, nil
}

func writeHead(gd, ref, sha string) error {
	head := sha + "\n"
	if ref != "" {
		head = "ref: " + ref + "\n"
		if sha != "" {
			p := filepath.Join(gd, filepath.FromSlash(ref))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(sha+"\n"), 0o644); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(gd, "HEAD"), []byte(head), 0o644)
}

// quoteConfig quotes a git config value.
func quoteConfig(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s)
	return `"` + s + `"`
}

// Open returns the Worktree at dir (made earlier by Checkout), reading its remote URL and
// identity from .git/config.
func Open(ctx context.Context, dir string, auth *Auth, id *Identity) (*Worktree, error) {
	cfg, err := readConfig(filepath.Join(dir, ".git", "config"))
	if err != nil {
		return nil, fmt.Errorf("not a git work tree (run git-clone first)")
	}
	w := &Worktree{Dir: dir, Auth: auth, ID: id, URL: cfg[`remote "origin".url`]}
	if w.URL == "" {
		return nil, errors.New("work tree has no origin remote")
	}
	if err := CheckURL("origin remote", w.URL); err != nil {
		return nil, err
	}
	if id == nil && (cfg["user.name"] != "" || cfg["user.email"] != "") {
		w.ID = &Identity{Name: cfg["user.name"], Email: cfg["user.email"]}
	}
	w.InsecureSkipTLSVerify = cfg["haul.insecureskiptlsverify"] == "true"
	return w, nil
}

// readConfig reads the simple git config files writeRepo makes (section.key → value).
func readConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.TrimSuffix(strings.TrimPrefix(line, "["), "]")
		default:
			k, v, _ := strings.Cut(line, "=")
			v = strings.TrimSpace(v)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n", `\t`, "\t").Replace(v[1 : len(v)-1])
			}
			out[section+"."+strings.ToLower(strings.TrimSpace(k))] = v
		}
	}
	return out, sc.Err()
}

// Git runs a git command in the work tree, after resetting its .git config to Haul's
// own (see resetGitDir); the git dir and work tree are passed explicitly, so git never
// looks for a repository elsewhere.
func (w *Worktree) Git(ctx context.Context, args ...string) (string, error) {
	dir, err := filepath.Abs(w.Dir)
	if err != nil {
		return "", err
	}
	gd, err := w.resetGitDir(dir)
	if err != nil {
		return "", err
	}
	out, err := Command{GitDir: gd, WorkTree: dir, Auth: w.Auth, Identity: w.ID, InsecureSkipTLSVerify: w.InsecureSkipTLSVerify}.Output(ctx, args...)
	return strings.TrimSpace(out), err
}

// Head returns the commit HEAD points at, or "" on an unborn branch.
func (w *Worktree) Head(ctx context.Context) string {
	gd := filepath.Join(w.Dir, ".git")
	b, err := os.ReadFile(filepath.Join(gd, "HEAD"))
	if err != nil {
		return ""
	}
	head := strings.TrimSpace(string(b))
	ref, ok := strings.CutPrefix(head, "ref: ")
	if !ok {
		return head
	}
	if b, err := os.ReadFile(filepath.Join(gd, filepath.FromSlash(ref))); err == nil { //nolint:gosec // G703: HEAD of a repository in the process's own cache; git validated the ref name
		return strings.TrimSpace(string(b))
	}
	// Packed refs (git may pack them); fall back to git itself.
	out, err := w.Git(ctx, "rev-parse", "-q", "--verify", "HEAD^{commit}")
	if err != nil {
		return ""
	}
	return out
}

// Branch returns the current branch name, or "" when detached.
func (w *Worktree) Branch(ctx context.Context) string {
	b, err := os.ReadFile(filepath.Join(w.Dir, ".git", "HEAD"))
	if err != nil {
		return ""
	}
	ref, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "ref: refs/heads/")
	if !ok {
		return ""
	}
	return ref
}

// CommitAll stages every change and commits it. It returns the new HEAD and whether a
// commit was made; with nothing to commit it returns the current HEAD and false.
func (w *Worktree) CommitAll(ctx context.Context, message string) (string, bool, error) {
	if _, err := w.Git(ctx, "add", "-A"); err != nil {
		return "", false, err
	}
	out, err := w.Git(ctx, "commit", "-q", "--no-verify", "-m", message)
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && (strings.Contains(out, "nothing to commit") || strings.Contains(out, "nothing added to commit") ||
			strings.Contains(ce.Stderr, "nothing to commit")) {
			return w.Head(ctx), false, nil
		}
		return "", false, err
	}
	return w.Head(ctx), true, nil
}
