package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is blockscope's version, set at release time with
// -ldflags "-X github.com/blockscope/blockscope/internal/cli.Version=v1.2.3".
var Version = "devel"

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print blockscope's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "blockscope %s\n", versionLine())
			return nil
		},
	}
}

// versionLine is what version and --version print after the name: the
// version set at release, else the module's version from the build info
// (go install ...@v1.2.3 records it), else "devel" with the commit the
// binary was built from; then the Go version and platform.
func versionLine() string {
	return fmt.Sprintf("%s (%s %s/%s)", version(debug.ReadBuildInfo()), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func version(bi *debug.BuildInfo, ok bool) string {
	if Version != "devel" || !ok {
		return Version
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return Version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += ", modified"
	}
	return fmt.Sprintf("devel (%s)", rev)
}
