// Command haul is Haul's single binary: the local all-in-one mode, the in-cluster
// controller and server, and the kubectl-like CLI.
package main

import (
	"os"
	// Promotion windows name IANA time zones (TZID=Europe/Berlin:...); the binary
	// carries the zone database so it runs in images without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/haul-dev/haul/internal/cli"
)

func main() { os.Exit(cli.Execute()) }
