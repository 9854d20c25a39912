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

func TestOwnModule(t *testing.T) {
	tests := []struct {
		chain, want string
	}{
		{"github.com/org/app/cli.Main github.com/spf13/cobra.(*Command).Execute github.com/org/app/cli.run github.com/org/app/demo.Run github.com/org/app/demo.fetch",
			"github.com/org/app/cli.run github.com/org/app/demo.Run github.com/org/app/demo.fetch"},
		{"main.main github.com/gorilla/mux.(*Router).ServeHTTP main.handler", "main.handler"},
		{"main.a main.b main.c main.d main.e main.f main.g main.h", "main.c main.d main.e main.f main.g main.h"},
	}
	for _, tt := range tests {
		var chain []parse.Frame
		for _, fn := range strings.Fields(tt.chain) {
			chain = append(chain, parse.Frame{Func: fn})
		}
		var got []string
		for _, f := range ownModule(chain) {
			got = append(got, f.Func)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("ownModule(%s) = %s; want %s", tt.chain, strings.Join(got, " "), tt.want)
		}
	}
}
