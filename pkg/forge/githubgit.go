package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v84/github"
)

// ErrNotFastForward means GitHub refused to move a branch because the new commit
// does not descend from the branch's head (HTTP 422 on a ref update without force).
var ErrNotFastForward = errors.New("not a fast forward")

// GitHubGit reaches one GitHub repository's Git data API (refs, commits, compare).
// The github-push step uses it to replay commits through the API, so that GitHub
// records (and, without a given author, signs) them as the authenticated account's.
type GitHubGit struct {
	repo   repoRef
	client *github.Client
	token  string
}

// NewGitHubGit returns the Git data API of opts.RepoURL: api.github.com for
// github.com, <base>/api/v3 for GitHub Enterprise Server. opts.Password is the token.
func NewGitHubGit(opts Options) (*GitHubGit, error) {
	repo, err := parseRepoURL(opts.RepoURL)
	if err != nil {
		return nil, err
	}
	p, err := newGitHub(repo, opts, httpClient(opts))
	if err != nil {
		return nil, err
	}
	gp := p.(*githubProvider)
	return &GitHubGit{repo: repo, client: gp.client, token: opts.Password}, nil
}

// Repo is owner/name, for messages.
func (g *GitHubGit) Repo() string { return g.repo.String() }

// Branch returns the commit branch points at; found is false when it does not exist.
func (g *GitHubGit) Branch(ctx context.Context, branch string) (sha string, found bool, err error) {
	ref, resp, err := g.client.Git.GetRef(ctx, g.repo.owner, g.repo.name, "heads/"+branch)
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return "", false, nil
	}
	if err != nil {
		return "", false, g.err(fmt.Sprintf("reading branch %s of %s", branch, g.repo), resp, err)
	}
	return ref.GetObject().GetSHA(), true, nil
}

// Person is a commit's author or committer.
type Person struct {
	Name, Email string
	When        time.Time
}

// Commit is one commit of a comparison, as the API reports it.
type Commit struct {
	SHA, Tree, Message string
	Parents            []string
	Author, Committer  Person
}

// Comparison is GitHub's comparison of base...head.
type Comparison struct {
	// Status is identical, ahead, behind or diverged.
	Status    string
	MergeBase string
	// Commits are those reachable from head and not from base, oldest first.
	Commits []Commit
	// Total counts them all; more than len(Commits) means the API truncated the list.
	Total int
}

// Compare compares base...head (at most 250 commits are listed).
func (g *GitHubGit) Compare(ctx context.Context, base, head string) (*Comparison, error) {
	c, resp, err := g.client.Repositories.CompareCommits(ctx, g.repo.owner, g.repo.name, base, head, &github.ListOptions{PerPage: 250})
	if err != nil {
		return nil, g.err(fmt.Sprintf("comparing %s...%s in %s", base, head, g.repo), resp, err)
	}
	out := &Comparison{Status: c.GetStatus(), MergeBase: c.GetMergeBaseCommit().GetSHA(), Total: c.GetTotalCommits()}
	for _, rc := range c.Commits {
		gc := rc.GetCommit()
		cm := Commit{
			SHA: rc.GetSHA(), Tree: gc.GetTree().GetSHA(), Message: gc.GetMessage(),
			Author:    Person{Name: gc.GetAuthor().GetName(), Email: gc.GetAuthor().GetEmail(), When: gc.GetAuthor().GetDate().Time},
			Committer: Person{Name: gc.GetCommitter().GetName(), Email: gc.GetCommitter().GetEmail(), When: gc.GetCommitter().GetDate().Time},
		}
		for _, p := range rc.Parents {
			cm.Parents = append(cm.Parents, p.GetSHA())
		}
		out.Commits = append(out.Commits, cm)
	}
	return out, nil
}

// CreateCommit creates a commit of tree with parents and message and returns its
// SHA. A nil author or committer is left to GitHub: the authenticated account, now,
// and GitHub's signature.
func (g *GitHubGit) CreateCommit(ctx context.Context, tree, message string, parents []string, author, committer *Person) (string, error) {
	c := github.Commit{Tree: &github.Tree{SHA: &tree}, Message: &message, Author: person(author), Committer: person(committer)}
	for _, p := range parents {
		c.Parents = append(c.Parents, &github.Commit{SHA: &p})
	}
	created, resp, err := g.client.Git.CreateCommit(ctx, g.repo.owner, g.repo.name, c, nil)
	if err != nil {
		return "", g.err(fmt.Sprintf("creating a commit in %s", g.repo), resp, err)
	}
	return created.GetSHA(), nil
}

func person(p *Person) *github.CommitAuthor {
	if p == nil {
		return nil
	}
	return &github.CommitAuthor{Name: &p.Name, Email: &p.Email, Date: &github.Timestamp{Time: p.When}}
}

// SetBranch points branch at sha, creating it when create is set. Without force,
// GitHub refuses a move that is not a fast forward: that is ErrNotFastForward.
func (g *GitHubGit) SetBranch(ctx context.Context, branch, sha string, create, force bool) error {
	if create {
		_, resp, err := g.client.Git.CreateRef(ctx, g.repo.owner, g.repo.name, github.CreateRef{Ref: "refs/heads/" + branch, SHA: sha})
		if err != nil {
			return g.err(fmt.Sprintf("creating branch %s of %s", branch, g.repo), resp, err)
		}
		return nil
	}
	_, resp, err := g.client.Git.UpdateRef(ctx, g.repo.owner, g.repo.name, "heads/"+branch, github.UpdateRef{SHA: sha, Force: &force})
	if resp != nil && resp.StatusCode == http.StatusUnprocessableEntity {
		return fmt.Errorf("moving branch %s of %s to %s: %w", branch, g.repo, sha, ErrNotFastForward)
	}
	if err != nil {
		return g.err(fmt.Sprintf("moving branch %s of %s", branch, g.repo), resp, err)
	}
	return nil
}

// DeleteRef deletes ref (a full name such as refs/haul/staging/x).
func (g *GitHubGit) DeleteRef(ctx context.Context, ref string) error {
	resp, err := g.client.Git.DeleteRef(ctx, g.repo.owner, g.repo.name, strings.TrimPrefix(ref, "refs/"))
	if err != nil {
		return g.err(fmt.Sprintf("deleting %s of %s", ref, g.repo), resp, err)
	}
	return nil
}

func (g *GitHubGit) err(op string, resp *github.Response, err error) error {
	return (&githubProvider{repo: g.repo, token: g.token}).err(op, resp, err)
}
