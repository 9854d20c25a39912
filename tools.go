//go:build tools

package blockscope

import (
	_ "golang.org/x/exp/trace"
	_ "github.com/spf13/cobra"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/emicklei/dot"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "golang.org/x/sync/semaphore"
)
