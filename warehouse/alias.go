package warehouse

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

var adjectives = []string{
	"able", "agile", "amber", "ample", "azure", "bold", "brave", "brisk", "calm", "clever",
	"cosmic", "crisp", "curious", "daring", "deft", "eager", "early", "fair", "fancy", "fast",
	"fierce", "fleet", "fond", "gentle", "giant", "glad", "golden", "grand", "happy", "hardy",
	"honest", "humble", "jolly", "keen", "kind", "lively", "loyal", "lucky", "mellow", "merry",
	"mighty", "modest", "nimble", "noble", "patient", "plucky", "polite", "proud", "quick", "quiet",
	"rapid", "ready", "robust", "rosy", "rustic", "sharp", "shiny", "silent", "silver", "sleek",
	"smart", "snowy", "solid", "steady", "stout", "sunny", "swift", "tidy", "tranquil", "trusty",
	"upbeat", "valiant", "vivid", "warm", "wise", "witty", "young", "zany", "zealous", "zesty",
}

var nouns = []string{
	"albatross", "antelope", "badger", "beaver", "bison", "bobcat", "buffalo", "camel", "cheetah", "condor",
	"cougar", "coyote", "crane", "dingo", "dolphin", "eagle", "egret", "elk", "falcon", "ferret",
	"finch", "fox", "gazelle", "gecko", "gibbon", "heron", "hippo", "ibex", "iguana", "jackal",
	"jaguar", "kestrel", "koala", "lemur", "leopard", "llama", "lynx", "magpie", "marmot", "marten",
	"mink", "moose", "narwhal", "ocelot", "orca", "osprey", "otter", "owl", "panda", "panther",
	"parrot", "pelican", "penguin", "puffin", "puma", "quail", "rabbit", "raven", "salmon", "seal",
	"shark", "sparrow", "squid", "stork", "swan", "tapir", "tiger", "toucan", "turtle", "walrus",
	"weasel", "whale", "wolf", "wombat", "yak", "zebra", "hornet", "bear", "hawk", "robin",
}

// Alias picks a human-friendly adjective-noun name for the Freight with this ID, unique
// among the names for which taken returns true. The first choice is derived from the ID,
// so re-running discovery proposes the same alias; collisions walk the word grid and,
// once it is exhausted, add a numeric suffix.
func Alias(id string, taken func(string) bool) string {
	seed := uint64(0)
	if b, err := hex.DecodeString(id); err == nil && len(b) >= 8 {
		seed = binary.BigEndian.Uint64(b[:8])
	} else {
		for _, r := range id {
			seed = seed*31 + uint64(r)
		}
	}
	n := uint64(len(adjectives) * len(nouns))
	for i := uint64(0); i < n; i++ {
		k := (seed + i*7919) % n // 7919 is prime and coprime with n, so this visits every cell
		a := adjectives[k/uint64(len(nouns))]
		b := nouns[k%uint64(len(nouns))]
		name := a + "-" + b
		if !taken(name) {
			return name
		}
	}
	base := adjectives[seed%uint64(len(adjectives))] + "-" + nouns[(seed/7)%uint64(len(nouns))]
	for i := 2; ; i++ {
		name := fmt.Sprintf("%s-%d", base, i)
		if !taken(name) {
			return name
		}
	}
}
