// Package version holds the build's version and commit, set with -ldflags -X.
package version

import "runtime/debug"

// Set at build time: -X github.com/haul-dev/haul/internal/version.Version=v0.1.0
var (
	Version = "dev"
	Commit  = ""
)

// GetCommit returns the commit the binary was built from, falling back to the VCS
// information Go embeds when built inside a Git checkout.
func GetCommit() string {
	if Commit != "" {
		return Commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
