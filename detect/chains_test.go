package detect

import (
	"strings"
	"testing"

	"github.com/blockscope/blockscope/parse"
)

func TestTrimWrappers(t *testing.T) {
	tests := []struct {
		chain, want string
	}{
		{"main.main harness.Run main.main.func1 main.serve main.handle main.fetch", "main.serve main.handle main.fetch"},
		{"main.main main.main.func1", "main.main.func1"}, // the go statement stays
		{"main.main example.com/app.Run example.com/app.(*S).handle", "example.com/app.Run example.com/app.(*S).handle"},
		{"example.com/app.TestServe example.com/app.TestServe.func2 example.com/app.fetch", "example.com/app.TestServe example.com/app.TestServe.func2 example.com/app.fetch"},
		{"main.main main.main.func1.2 main.work", "main.work"},
		// A runner of callbacks that are not from a dropped function stays.
		{"main.main pool.Run main.worker.func1", "pool.Run main.worker.func1"},
	}
	for _, tt := range tests {
		var chain []parse.Frame
		for _, fn := range strings.Fields(tt.chain) {
			chain = append(chain, parse.Frame{Func: fn})
		}
		var got []string
		for _, f := range trimWrappers(chain) {
			got = append(got, f.Func)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("trimWrappers(%s) = %s; want %s", tt.chain, strings.Join(got, " "), tt.want)
		}
	}
}
