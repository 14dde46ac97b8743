// Command etcd is etcd's own main, built from the module proxy for Haul's embedded control plane.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
