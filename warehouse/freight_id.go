package warehouse

import (
	"crypto/sha1" //nolint:gosec // api.md defines the Freight ID as SHA-1; it names content, it does not protect it.
	"encoding/hex"
	"sort"
	"strings"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// FreightID is the name of the Freight holding these artifacts: the lowercase hex SHA-1
// of "<origin.kind>/<origin.name>:" followed by the sorted, "|"-joined artifact keys
// (api.md). The same content from the same origin always gets the same name, which is
// what makes Freight creation idempotent.
func FreightID(origin haulv1.FreightOrigin, images []haulv1.Image, commits []haulv1.GitCommit, charts []haulv1.Chart) string {
	keys := make([]string, 0, len(images)+len(commits)+len(charts))
	for _, i := range images {
		keys = append(keys, withSub(i.RepoURL+":"+i.Tag+"@"+i.Digest, i.SubscriptionName))
	}
	for _, c := range commits {
		keys = append(keys, withSub(c.RepoURL+":"+c.Tag+":"+c.ID, c.SubscriptionName))
	}
	for _, c := range charts {
		keys = append(keys, withSub(c.RepoURL+"/"+c.Name+":"+c.Version, c.SubscriptionName))
	}
	sort.Strings(keys)
	sum := sha1.Sum([]byte(string(origin.Kind) + "/" + origin.Name + ":" + strings.Join(keys, "|"))) //nolint:gosec
	return hex.EncodeToString(sum[:])
}

func withSub(key, sub string) string {
	if sub == "" {
		return key
	}
	return key + ":" + sub
}

// FreightIDOf computes the ID of an existing Freight object from its origin and content.
func FreightIDOf(f *haulv1.Freight) string {
	return FreightID(f.Origin, f.Images, f.Commits, f.Charts)
}
