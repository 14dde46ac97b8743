// Command haul is Haul's single binary: the local all-in-one mode, the in-cluster
// controller and server, and the kubectl-like CLI.
package main

import (
	"os"

	"github.com/haul-dev/haul/internal/cli"
)

func main() { os.Exit(cli.Execute()) }
