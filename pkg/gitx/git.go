package gitx

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/haul-dev/haul/pkg/redact"
)

// Auth is HTTP basic credentials for a remote, and how to reach it.
type Auth struct {
	Username string
	Password string
	// InsecureSkipTLSVerify turns off certificate checks for this remote (git-clone's
	// insecureSkipTLSVerify); a work tree checked out with it keeps it (see Worktree).
	InsecureSkipTLSVerify bool
}

func (a *Auth) empty() bool { return a == nil || a.Username == "" && a.Password == "" }

func (a *Auth) insecure() bool { return a != nil && a.InsecureSkipTLSVerify }

// Identity is the author and committer of commits made in a work tree.
type Identity struct {
	Name  string
	Email string
}

// DefaultIdentity signs commits when a step names no author.
var DefaultIdentity = Identity{Name: "Haul", Email: "haul@haul.dev"}

// CommandError is a failed git invocation; its message is redacted.
type CommandError struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *CommandError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if len(msg) > 2000 {
		msg = msg[len(msg)-2000:]
	}
	return Redact(fmt.Sprintf("git %s: %v: %s", subcommand(e.Args), e.Err, msg))
}

func (e *CommandError) Unwrap() error { return e.Err }

func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		if args[i] == "-C" || args[i] == "-c" {
			i++
			continue
		}
		return args[i]
	}
	return ""
}

// stallTimeout ends a transfer that makes no progress: git's low-speed limit (under
// 1,000 bytes/s for this long) and the deadline of the in-process ref check and push.
var stallTimeout = 30 * time.Second

// pinned is configuration given to every git invocation on its command level
// (GIT_CONFIG_COUNT), which outranks a repository's own .git/config. It turns off
// everything in git that runs a program named by configuration or sends traffic
// somewhere other than the remote, and allows only network transports. A key that
// cannot be neutralised this way (filter.<driver>.*, diff.<driver>.*, include.path,
// url.<base>.insteadOf, remote.origin.*) is handled by rewriting a work tree's config
// before each call (see Worktree.Git); diff.external is not pinned because an empty
// value makes git fail every diff, and Haul runs no command that uses it.
var pinned = [][2]string{
	{"core.fsmonitor", "false"},
	{"core.hooksPath", "/dev/null"},
	{"core.sshCommand", "ssh -o BatchMode=yes"},
	{"core.askPass", ""},
	{"core.pager", "cat"},
	{"core.editor", ":"},
	{"sequence.editor", ":"},
	{"core.attributesFile", "/dev/null"},
	{"core.excludesFile", "/dev/null"},
	{"credential.helper", ""}, // an empty value empties the helper list
	{"commit.gpgSign", "false"},
	{"tag.gpgSign", "false"},
	{"push.gpgSign", "false"},
	{"submodule.recurse", "false"},
	{"fetch.recurseSubmodules", "false"},
	{"safe.bareRepository", "explicit"},
	{"protocol.allow", "never"},
	{"protocol.https.allow", "always"},
	{"protocol.http.allow", "always"},
	{"protocol.ssh.allow", "always"},
	{"gc.auto", "0"},
	{"maintenance.auto", "false"},
	{"advice.detachedHead", "false"},
	{"init.defaultBranch", "main"},
}

// passedEnv are the only variables of the controller's environment git sees: how to
// reach the network, set by whoever runs Haul.
var passedEnv = []string{
	"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// Command is one git invocation in Haul's hardened environment: no system or global
// config, no prompts, the pinned configuration above, the repository named explicitly
// (never discovered from the current directory) and credentials passed as an
// Authorization header through the environment, so they never show in argv or in any
// config file. Discovery (warehouse) and promotion (this package) both run git through
// it.
type Command struct {
	// GitDir is the repository: a bare repository or a work tree's .git directory.
	// Empty runs git outside any repository (ls-remote).
	GitDir string
	// WorkTree is GitDir's checked-out tree; empty for bare repositories.
	WorkTree string
	// Auth, when set, is sent as HTTP basic credentials.
	Auth *Auth
	// Identity authors and commits; DefaultIdentity when nil.
	Identity *Identity
	// InsecureSkipTLSVerify turns off certificate checks for a remote that asks for it.
	InsecureSkipTLSVerify bool
	// StallTimeout ends a transfer slower than 1,000 bytes/s for this long (default 30s).
	StallTimeout time.Duration
}

func (c Command) env() []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		// Set but empty: git then asks no askpass program and no proxy command, whatever
		// the configuration says.
		"GIT_ASKPASS=", "SSH_ASKPASS=", "GIT_PROXY_COMMAND=",
		"GIT_EDITOR=:", "GIT_SEQUENCE_EDITOR=:", "GIT_PAGER=cat",
	}
	for _, k := range passedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if c.GitDir != "" {
		env = append(env, "GIT_DIR="+c.GitDir)
		if c.WorkTree != "" {
			env = append(env, "GIT_WORK_TREE="+c.WorkTree)
		}
	}
	stall := c.StallTimeout
	if stall <= 0 {
		stall = stallTimeout
	}
	cfg := append([][2]string(nil), pinned...)
	cfg = append(cfg,
		[2]string{"http.lowSpeedLimit", "1000"},
		[2]string{"http.lowSpeedTime", strconv.Itoa(max(1, int(stall.Seconds())))},
		[2]string{"http.sslVerify", strconv.FormatBool(!c.InsecureSkipTLSVerify && !c.Auth.insecure())},
	)
	if !c.Auth.empty() {
		tok := base64.StdEncoding.EncodeToString([]byte(c.Auth.Username + ":" + c.Auth.Password))
		cfg = append(cfg, [2]string{"http.extraHeader", "Authorization: Basic " + tok})
	}
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(cfg)))
	for i, kv := range cfg {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	id := c.Identity
	if id == nil {
		id = &DefaultIdentity
	}
	return append(env,
		"GIT_AUTHOR_NAME="+id.Name, "GIT_AUTHOR_EMAIL="+id.Email,
		"GIT_COMMITTER_NAME="+id.Name, "GIT_COMMITTER_EMAIL="+id.Email)
}

// Output runs git with args and returns its standard output as written. A failure is
// a *CommandError (redacted); a cancelled ctx is reported as ctx.Err().
func (c Command) Output(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	switch {
	case c.WorkTree != "":
		cmd.Dir = c.WorkTree
	case c.GitDir != "":
		cmd.Dir = c.GitDir
	default:
		// Outside a repository: git must not find one above the temp dir either.
		cmd.Dir = os.TempDir()
	}
	cmd.Env = c.env()
	if c.GitDir == "" {
		cmd.Env = append(cmd.Env, "GIT_CEILING_DIRECTORIES="+filepath.Dir(cmd.Dir))
	}
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return stdout.String(), &CommandError{Args: args, Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

// run executes git in a bare repository (gitDir), or outside any repository when
// gitDir is "", and returns trimmed stdout.
func run(ctx context.Context, gitDir string, auth *Auth, id *Identity, args ...string) (string, error) {
	if gitDir != "" {
		if abs, err := filepath.Abs(gitDir); err == nil {
			gitDir = abs
		}
	}
	out, err := Command{GitDir: gitDir, Auth: auth, Identity: id}.Output(ctx, args...)
	return strings.TrimSpace(out), err
}

// Redact removes credentials from URLs, Authorization headers and tokens in s; it is
// pkg/redact's String, kept here so git errors and their callers share one rule.
func Redact(s string) string { return redact.String(s) }

// RedactError wraps err so its message never shows credentials (pkg/redact).
func RedactError(err error) error { return redact.Error(err) }
