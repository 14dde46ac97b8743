package testservers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Git runs git in dir with a fixed identity and returns trimmed stdout.
func Git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Haul Test", "GIT_AUTHOR_EMAIL=test@haul.dev",
		"GIT_COMMITTER_NAME=Haul Test", "GIT_COMMITTER_EMAIL=test@haul.dev",
		"GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// SeedRepo creates the named bare repository on the server and pushes one commit to main
// with the given files (path → contents). It returns the commit SHA.
func (s *GitServer) SeedRepo(name string, files map[string]string) (string, error) {
	if _, err := s.InitBare(name); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "haul-seed-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if _, err := Git(work, "init", "--initial-branch=main"); err != nil {
		return "", err
	}
	return s.commitAndPush(work, name, "main", files, "seed")
}

// Commit adds files to the branch of the named repository (cloning it first) and pushes.
// It returns the new commit SHA.
func (s *GitServer) Commit(name, branch string, files map[string]string, message string) (string, error) {
	work, err := os.MkdirTemp("", "haul-commit-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if _, err := Git(work, "clone", "--branch", branch, s.RepoURL(name), "."); err != nil {
		return "", err
	}
	return s.commitAndPush(work, name, branch, files, message)
}

func (s *GitServer) commitAndPush(work, name, branch string, files map[string]string, message string) (string, error) {
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
	if _, err := Git(work, "commit", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	if _, err := Git(work, "push", s.RepoURL(name), "HEAD:refs/heads/"+branch); err != nil {
		return "", err
	}
	return Git(work, "rev-parse", "HEAD")
}

// Show returns the contents of path at ref in the named bare repository.
func (s *GitServer) Show(name, ref, path string) (string, error) {
	return Git(filepath.Join(s.Root, name+".git"), "show", ref+":"+path)
}

// RevParse resolves ref in the named bare repository.
func (s *GitServer) RevParse(name, ref string) (string, error) {
	return Git(filepath.Join(s.Root, name+".git"), "rev-parse", ref)
}
