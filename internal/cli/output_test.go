package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestBinaryToTerminal: a binary format is not written to a terminal.
func TestBinaryToTerminal(t *testing.T) {
	defer func(term func(io.Writer) bool) { stdoutTerminal = term }(stdoutTerminal)
	const trace = "../../fixtures/leak-timeout/testdata/go126.trace"
	for _, terminal := range []bool{false, true} {
		stdoutTerminal = func(io.Writer) bool { return terminal }
		var out, errOut bytes.Buffer
		code := Main([]string{"analyze", "--format", "pprof", trace}, strings.NewReader(""), &out, &errOut)
		switch {
		case terminal && (code != ExitUsage || out.Len() > 0 || !strings.Contains(errOut.String(), "--output pprof=FILE")):
			t.Errorf("pprof to a terminal: exit %d, %d bytes, stderr %q; want exit 2, nothing written, a hint", code, out.Len(), errOut.String())
		case !terminal && (code != ExitOK || !bytes.HasPrefix(out.Bytes(), []byte{0x1f, 0x8b})):
			t.Errorf("pprof to a pipe: exit %d, %d bytes; want 0 and the gzipped profile", code, out.Len())
		}
	}
}
