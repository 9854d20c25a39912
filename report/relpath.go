package report

import (
	"path/filepath"
	"strings"
)

// ModuleRelative returns file relative to the module's root, with
// slashes, and whether it is in the module: a -trimpath path
// ("example.com/mod/pkg/a.go") loses the module path, an absolute path
// under Root loses Root. Code scanning and inline annotations want paths
// relative to the repository, which is the module's root in most repositories.
func (p Paths) ModuleRelative(file string) (string, bool) {
	if p.Module != "" && strings.HasPrefix(file, p.Module+"/") {
		return strings.TrimPrefix(file, p.Module+"/"), true
	}
	if p.Root != "" && filepath.IsAbs(file) {
		if r, err := filepath.Rel(p.Root, file); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r), true
		}
	}
	return file, false
}
