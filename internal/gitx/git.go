package gitx

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Auth is HTTP basic credentials for a remote.
type Auth struct {
	Username string
	Password string
}

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

// gitEnv builds the environment for git: no prompts, no system/global config, bounded
// slow transfers, and credentials passed as a header through the environment so they
// never show in argv or in the repository config.
func gitEnv(auth *Auth, id *Identity) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.TempDir(),
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"LC_ALL=C",
	}
	cfg := [][2]string{
		{"http.lowSpeedLimit", "1000"},
		{"http.lowSpeedTime", strconv.Itoa(int(stallTimeout.Seconds()))},
		{"protocol.file.allow", "always"},
		{"core.hooksPath", "/dev/null"},
		{"gc.auto", "0"},
		{"advice.detachedHead", "false"},
		{"init.defaultBranch", "main"},
	}
	if auth != nil && (auth.Username != "" || auth.Password != "") {
		tok := base64.StdEncoding.EncodeToString([]byte(auth.Username + ":" + auth.Password))
		cfg = append(cfg, [2]string{"http.extraHeader", "Authorization: Basic " + tok})
	}
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(cfg)))
	for i, kv := range cfg {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	if id == nil {
		id = &DefaultIdentity
	}
	env = append(env,
		"GIT_AUTHOR_NAME="+id.Name, "GIT_AUTHOR_EMAIL="+id.Email,
		"GIT_COMMITTER_NAME="+id.Name, "GIT_COMMITTER_EMAIL="+id.Email)
	return env
}

// run executes git in dir and returns trimmed stdout.
func run(ctx context.Context, dir string, auth *Auth, id *Identity, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(auth, id)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return strings.TrimSpace(stdout.String()), &CommandError{Args: args, Stderr: stderr.String(), Err: err}
	}
	return strings.TrimSpace(stdout.String()), nil
}
