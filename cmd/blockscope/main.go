// Command blockscope explains goroutine blocking in Go execution traces.
// See the README or `blockscope help`.
package main

import (
	"os"

	"github.com/blockscope/blockscope/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
