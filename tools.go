//go:build tools

package blockscope

import (
	_ "github.com/emicklei/dot"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/spf13/cobra"
	_ "go.uber.org/goleak"
	_ "golang.org/x/exp/trace"
	_ "golang.org/x/sync/semaphore"
)
