package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "devel"},
		{"go install @version", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, true, "v1.4.0"},
		{"built from a clone", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"},
		}}, true, "devel (0123456789ab, modified)"},
		{"go run", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "devel"},
	} {
		if got := version(tc.bi, tc.ok); got != tc.want {
			t.Errorf("%s: version = %q; want %q", tc.name, got, tc.want)
		}
	}
	defer func(v string) { Version = v }(Version)
	Version = "v9.9.9"
	if got := version(&debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, true); got != "v9.9.9" {
		t.Errorf("with Version set at release: %q; want v9.9.9", got)
	}
}
