package promotion

import (
	"strings"

	"github.com/oklog/ulid/v2"
)

// NewName returns the name Haul gives a Promotion: "<stage>.<ulid>.<first 7 of freight>".
// The ULID is lowercase, so names of one Stage sort in creation order.
func NewName(stage, freight string) string {
	id := strings.ToLower(ulid.Make().String())
	short := freight
	if len(short) > 7 {
		short = short[:7]
	}
	name := stage + "." + id + "." + short
	if len(name) > 253 {
		// Stage names are at most 253 characters; keep the unique part.
		name = name[len(name)-253:]
		name = strings.TrimLeft(name, ".-")
	}
	return name
}
