package warehouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/gitx"
	"github.com/haul-dev/haul/pkg/redact"
)

// maxCommitsScanned bounds how far back NewestFromBranch walks looking for commits that
// pass the path and expression filters.
const maxCommitsScanned = 1000

type gitSubscriber struct {
	d        *Discoverer
	field    string
	subName  string
	spec     haulv1.GitSubscription
	strategy haulv1.CommitSelectionStrategy
	selector *TagSelector
	include  []pathMatcher
	exclude  []pathMatcher
	filter   *vm.Program
	limit    int
	creds    CredentialsFunc
	memoKey  string
}

// gitMemo is the last result for one subscription and the remote refs it came from:
// when ls-remote shows the same refs, nothing is fetched or recomputed.
type gitMemo struct {
	mu          sync.Mutex
	fingerprint string
	result      *Result
}

func (d *Discoverer) newGitSubscriber(field, subName string, spec haulv1.GitSubscription, creds CredentialsFunc) (*gitSubscriber, error) {
	s := &gitSubscriber{d: d, field: field, subName: subName, spec: spec, limit: limitOf(spec.DiscoveryLimit), creds: creds}
	s.strategy = spec.CommitSelectionStrategy
	if s.strategy == "" {
		s.strategy = haulv1.CommitSelectionNewestFromBranch
	}
	// Only network remotes (the same check promotion's git-clone makes): a file://
	// URL or host path would read repositories off the controller's disk.
	if err := d.opts.GitRemotes.Check(field+".repoURL", spec.RepoURL); err != nil {
		var ue *gitx.URLError
		if errors.As(err, &ue) {
			return nil, &InvalidConstraintError{Field: ue.Field, Value: redact.String(ue.URL), Err: errors.New(ue.Reason)}
		}
		return nil, err
	}
	opts := TagSelectorOptions{
		Strategy: StrategyLexical, Strict: strictOf(spec.StrictSemvers),
		AllowTagsRegexes: spec.AllowTagsRegexes, IgnoreTagsRegexes: spec.IgnoreTagsRegexes,
		Limit: s.limit, FieldPrefix: field, ConstraintName: "semverConstraint",
	}
	env := filterEnv(s.strategy)
	switch s.strategy {
	case haulv1.CommitSelectionNewestFromBranch:
	case haulv1.CommitSelectionSemVer:
		opts.Strategy, opts.Constraint = StrategySemVer, spec.SemverConstraint
	case haulv1.CommitSelectionLexical, haulv1.CommitSelectionNewestTag:
	default:
		return nil, &InvalidConstraintError{Field: field + ".commitSelectionStrategy", Value: string(s.strategy), Err: errors.New("unknown strategy")}
	}
	var err error
	if s.selector, err = NewTagSelector(opts); err != nil {
		return nil, err
	}
	if s.include, err = compilePathMatchers(spec.IncludePaths, field+".includePaths"); err != nil {
		return nil, err
	}
	if s.exclude, err = compilePathMatchers(spec.ExcludePaths, field+".excludePaths"); err != nil {
		return nil, err
	}
	if s.filter, err = compileFilter(spec.ExpressionFilter, field+".expressionFilter", env); err != nil {
		return nil, err
	}
	key, _ := json.Marshal(struct {
		N string
		S haulv1.GitSubscription
	}{subName, spec})
	sum := sha256.Sum256(key)
	s.memoKey = hex.EncodeToString(sum[:])
	return s, nil
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func (s *gitSubscriber) Discover(ctx context.Context) (*Result, error) {
	var creds *Credentials
	if s.creds != nil {
		var err error
		if creds, err = s.creds(ctx, CredentialGit, s.spec.RepoURL); err != nil {
			return nil, fmt.Errorf("looking up git credentials for %s: %w", s.spec.RepoURL, err)
		}
	}
	refs, head, err := s.lsRemote(ctx, creds)
	if err != nil {
		return nil, err
	}
	var fingerprint string
	var branch, tip string
	if s.strategy == haulv1.CommitSelectionNewestFromBranch {
		branch = s.spec.Branch
		if branch == "" {
			branch = strings.TrimPrefix(head, "refs/heads/")
		}
		if branch == "" {
			return nil, fmt.Errorf("%s has no default branch; set %s.branch", redact.String(s.spec.RepoURL), s.field)
		}
		tip = refs["refs/heads/"+branch]
		if tip == "" {
			return nil, fmt.Errorf("branch %q not found in %s", branch, redact.String(s.spec.RepoURL))
		}
		fingerprint = branch + " " + tip
	} else {
		var lines []string
		for r, h := range refs {
			if strings.HasPrefix(r, "refs/tags/") {
				lines = append(lines, r+" "+h)
			}
		}
		sort.Strings(lines)
		sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
		fingerprint = hex.EncodeToString(sum[:])
	}
	mv, _ := s.d.gitMemo.LoadOrStore(s.memoKey, &gitMemo{})
	memo := mv.(*gitMemo)
	memo.mu.Lock()
	defer memo.mu.Unlock()
	if memo.result != nil && memo.fingerprint == fingerprint {
		return copyResult(memo.result), nil
	}

	repo, unlock, err := s.d.gitRepo(ctx, s.spec.RepoURL, creds)
	if err != nil {
		return nil, err
	}
	defer unlock()
	res := &Result{Kind: KindGit, SubscriptionName: s.subName, RepoURL: s.spec.RepoURL}
	if s.strategy == haulv1.CommitSelectionNewestFromBranch {
		if !repo.hasCommit(ctx, tip) {
			if err := repo.fetch(ctx, s, creds, "+refs/heads/"+branch+":refs/heads/"+branch); err != nil {
				return nil, err
			}
		}
		res.Commits, err = s.branchCommits(ctx, repo, branch, tip)
	} else {
		if err := repo.fetch(ctx, s, creds, "+refs/tags/*:refs/tags/*"); err != nil {
			return nil, err
		}
		res.Commits, err = s.tagCommits(ctx, repo)
	}
	if err != nil {
		return nil, err
	}
	memo.fingerprint, memo.result = fingerprint, copyResult(res)
	return res, nil
}

func copyResult(r *Result) *Result {
	c := *r
	c.Commits = append([]haulv1.DiscoveredCommit(nil), r.Commits...)
	c.Images = append([]haulv1.DiscoveredImageReference(nil), r.Images...)
	c.Charts = append([]string(nil), r.Charts...)
	return &c
}

// lsRemote lists the remote's refs in process (gitx.ListRemote), returning ref →
// commit SHA (annotated tags peeled) and the target of HEAD.
func (s *gitSubscriber) lsRemote(ctx context.Context, creds *Credentials) (map[string]string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.d.opts.RequestTimeout)
	defer cancel()
	list, err := gitx.ListRemote(ctx, s.spec.RepoURL, gitAuth(creds), gitx.ListOptions{
		Peeled: true, InsecureSkipTLSVerify: s.spec.InsecureSkipTLSVerify,
	})
	if err != nil {
		if errors.Is(err, transport.ErrEmptyRemoteRepository) {
			return map[string]string{}, "", nil
		}
		if ctx.Err() != nil {
			return nil, "", fmt.Errorf("listing refs of %s: no answer within %s", redact.String(s.spec.RepoURL), s.d.opts.RequestTimeout)
		}
		return nil, "", fmt.Errorf("listing refs of %s: %s", redact.String(s.spec.RepoURL), redact.String(err.Error()))
	}
	refs := map[string]string{}
	head := ""
	for _, r := range list {
		n := r.Name().String()
		if r.Type() == plumbing.SymbolicReference {
			if n == "HEAD" {
				head = r.Target().String()
			}
			continue
		}
		if strings.HasSuffix(n, "^{}") {
			refs[strings.TrimSuffix(n, "^{}")] = r.Hash().String() // the peeled commit wins
			continue
		}
		if _, ok := refs[n]; !ok {
			refs[n] = r.Hash().String()
		}
	}
	return refs, head, nil
}

// gitAuth is discovery credentials in the git layer's form.
func gitAuth(creds *Credentials) *gitx.Auth {
	if creds == nil {
		return nil
	}
	return &gitx.Auth{Username: creds.Username, Password: creds.Password}
}

// cachedRepo is one bare repository under the cache dir, shared by every subscription
// to the same URL with the same credentials and fetched incrementally.
type cachedRepo struct {
	dir string
	d   *Discoverer
}

// gitRepo returns the cached repository for url fetched with creds, locked. Like the
// promotion cache, it is keyed by the credentials too, so what one project fetched is
// never read back for another that uses other (or no) credentials.
func (d *Discoverer) gitRepo(ctx context.Context, url string, creds *Credentials) (*cachedRepo, func(), error) {
	key := NormalizeRepoURL(url) + "\x00" + url
	if creds != nil {
		key += "\x00" + creds.Username + "\x00" + creds.Password
	}
	sum := sha256.Sum256([]byte(key))
	dir := filepath.Join(d.opts.CacheDir, "git", hex.EncodeToString(sum[:12])+".git")
	lv, _ := d.gitLocks.LoadOrStore(dir, &sync.Mutex{})
	mu := lv.(*sync.Mutex)
	mu.Lock()
	r := &cachedRepo{dir: dir, d: d}
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			mu.Unlock()
			return nil, nil, fmt.Errorf("creating git cache: %w", err)
		}
		if _, err := r.git(ctx, gitx.Command{}, "init", "--bare", "--quiet"); err != nil {
			mu.Unlock()
			return nil, nil, err
		}
	}
	return r, mu.Unlock, nil
}

// git runs git in the cached repository through the shared git layer (gitx.Command:
// Haul's environment, pinned config, hooks off, only network transports). c carries
// the credentials and transfer settings; its GitDir is set here.
func (r *cachedRepo) git(ctx context.Context, c gitx.Command, args ...string) (string, error) {
	c.GitDir = r.dir
	return c.Output(ctx, args...)
}

func (r *cachedRepo) hasCommit(ctx context.Context, sha string) bool {
	_, err := r.git(ctx, gitx.Command{}, "cat-file", "-e", sha+"^{commit}")
	return err == nil
}

// fetch brings refspec up to date. Slow transfers are aborted (low-speed limit) and the
// whole fetch has a deadline; credentials travel in an environment-only config entry,
// never on the command line.
func (r *cachedRepo) fetch(ctx context.Context, s *gitSubscriber, creds *Credentials, refspec string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*s.d.opts.RequestTimeout)
	defer cancel()
	c := gitx.Command{Auth: gitAuth(creds), InsecureSkipTLSVerify: s.spec.InsecureSkipTLSVerify, StallTimeout: s.d.opts.GitLowSpeedTime}
	args := []string{"fetch", "--quiet", "--prune", "--no-tags", "--no-write-fetch-head"}
	if s.spec.Blobless != nil && *s.spec.Blobless {
		args = append(args, "--filter=blob:none")
	}
	if _, err := r.git(ctx, c, append(args, "--", s.spec.RepoURL, refspec)...); err != nil {
		return fmt.Errorf("fetching %s: %w", redact.String(s.spec.RepoURL), err)
	}
	return nil
}

// maxSubject bounds a commit subject kept in status.
const maxSubject = 256

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

const (
	fieldSep  = "\x1f"
	recordSep = "\x1e"
)

func (s *gitSubscriber) branchCommits(ctx context.Context, repo *cachedRepo, branch, tip string) ([]haulv1.DiscoveredCommit, error) {
	filtered := len(s.include) > 0 || len(s.exclude) > 0 || s.filter != nil
	n := s.limit
	args := []string{"log", "--format=" + recordSep + "%H" + fieldSep + "%s" + fieldSep + "%an <%ae>" + fieldSep + "%cn <%ce>" + fieldSep + "%cI"}
	if filtered {
		n = maxCommitsScanned
	}
	if len(s.include) > 0 || len(s.exclude) > 0 {
		args = append(args, "--name-only", "--diff-merges=first-parent")
	}
	args = append(args, fmt.Sprintf("-n%d", n), tip, "--")
	out, err := repo.git(ctx, gitx.Command{}, args...)
	if err != nil {
		return nil, err
	}
	var commits []haulv1.DiscoveredCommit
	for _, rec := range strings.Split(out, recordSep) {
		if strings.TrimSpace(rec) == "" {
			continue
		}
		header, files, _ := strings.Cut(rec, "\n")
		f := strings.Split(header, fieldSep)
		if len(f) < 5 {
			continue
		}
		date, _ := time.Parse(time.RFC3339, strings.TrimSpace(f[4]))
		if s.spec.Since != nil && date.Before(s.spec.Since.Time) {
			// git log lists newest first: everything after this is older too.
			break
		}
		if len(s.include) > 0 || len(s.exclude) > 0 {
			if !touchesPaths(nonEmptyLines(files), s.include, s.exclude) {
				continue
			}
		}
		ok, err := runFilter(s.filter, commitEnv(f[0], f[2], f[3], f[1], date))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		commits = append(commits, haulv1.DiscoveredCommit{
			ID: f[0], Branch: branch, Subject: truncate(f[1], maxSubject), Author: f[2], CommitterDate: timePtr(date),
		})
		if len(commits) == s.limit {
			break
		}
	}
	return commits, nil
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func timePtr(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}

type gitTag struct {
	name, commit, tagger, annotation, subject, author string
	created, committed                                time.Time
}

func (s *gitSubscriber) tagCommits(ctx context.Context, repo *cachedRepo) ([]haulv1.DiscoveredCommit, error) {
	format := strings.Join([]string{
		"%(refname:strip=2)", "%(objecttype)", "%(objectname)", "%(*objectname)", "%(creatordate:iso-strict)",
		"%(taggername) %(taggeremail)", "%(contents:subject)", "%(*subject)", "%(authorname) %(authoremail)",
		"%(*authorname) %(*authoremail)", "%(committerdate:iso-strict)", "%(*committerdate:iso-strict)",
	}, "%1f") + "%1e"
	out, err := repo.git(ctx, gitx.Command{}, "for-each-ref", "--format="+format, "refs/tags")
	if err != nil {
		return nil, err
	}
	tags := map[string]gitTag{}
	var names []string
	for _, rec := range strings.Split(out, recordSep) {
		rec = strings.TrimLeft(rec, "\n")
		f := strings.Split(rec, fieldSep)
		if len(f) < 12 {
			continue
		}
		t := gitTag{name: f[0], commit: f[2], subject: f[6], author: f[8], annotation: ""}
		t.created, _ = time.Parse(time.RFC3339, f[4])
		t.committed, _ = time.Parse(time.RFC3339, f[10])
		if f[1] == "tag" {
			t.commit, t.tagger, t.annotation, t.subject, t.author = f[3], strings.TrimSpace(f[5]), f[6], f[7], f[9]
			t.committed, _ = time.Parse(time.RFC3339, f[11])
		}
		if s.spec.Since != nil && t.committed.Before(s.spec.Since.Time) {
			continue
		}
		tags[t.name] = t
		names = append(names, t.name)
	}
	var ordered []string
	switch s.strategy {
	case haulv1.CommitSelectionNewestTag:
		for _, n := range names {
			if s.selector.Allowed(n) {
				ordered = append(ordered, n)
			}
		}
		sort.SliceStable(ordered, func(i, j int) bool {
			a, b := tags[ordered[i]], tags[ordered[j]]
			if !a.created.Equal(b.created) {
				return a.created.After(b.created)
			}
			return a.name > b.name
		})
	default:
		sel := *s.selector
		if len(s.include) > 0 || len(s.exclude) > 0 || s.filter != nil {
			sel.Limit = maxCommitsScanned
		}
		ordered = sel.Select(names)
	}
	var commits []haulv1.DiscoveredCommit
	for _, n := range ordered {
		t := tags[n]
		if len(s.include) > 0 || len(s.exclude) > 0 {
			files, err := repo.git(ctx, gitx.Command{}, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", "--diff-merges=first-parent", t.commit)
			if err != nil {
				return nil, err
			}
			if !touchesPaths(nonEmptyLines(files), s.include, s.exclude) {
				continue
			}
		}
		ok, err := runFilter(s.filter, tagEnv(t.name, t.commit, t.tagger, t.annotation, t.created))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		commits = append(commits, haulv1.DiscoveredCommit{
			ID: t.commit, Tag: t.name, Subject: truncate(t.subject, maxSubject), Author: t.author, CommitterDate: timePtr(t.committed),
		})
		if len(commits) == s.limit {
			break
		}
	}
	return commits, nil
}
