package manifest

import (
	"strings"
	"testing"
)

// haul apply refuses a Warehouse git subscription that names a local repository,
// before the API server is asked, naming the field and the value.
func TestValidateRefusesLocalGitRepoURLs(t *testing.T) {
	for _, url := range []string{"file:///var/lib/haul/git-cache/x.git", "/var/lib/haul/git-cache/x.git"} {
		t.Run(url, func(t *testing.T) {
			y := strings.Replace(goodSet, "repoURL: https://git.example/acme/app.git", "repoURL: "+url, 1)
			_, err := Validate(load(t, y), Cluster{})
			want := `spec.subscriptions[1].git.repoURL "` + url + `": only https, http and ssh remotes are allowed`
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("want an error containing %q, got %v", want, err)
			}
		})
	}
}
