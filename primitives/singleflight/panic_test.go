package singleflight

import (
	"errors"
	"strings"
	"testing"
)

func TestPanicError(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name       string
		value      any
		wantPrefix string
		wantUnwrap error
	}{
		{"string", "it broke", "it broke\n\n", nil},
		{"error", errBoom, "boom\n\n", errBoom},
		{"int", 42, "42\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newPanicError(tt.value)
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.wantPrefix) {
				t.Errorf("Error() = %q; want prefix %q", msg, tt.wantPrefix)
			}
			// The stale "goroutine N [running]:" line is dropped; the
			// stack starts at a frame.
			if stack := strings.TrimPrefix(msg, tt.wantPrefix); strings.HasPrefix(stack, "goroutine ") || !strings.Contains(stack, "TestPanicError") {
				t.Errorf("stack = %q; want frames from TestPanicError, no goroutine header", stack)
			}
			if got := errors.Unwrap(err); got != tt.wantUnwrap {
				t.Errorf("errors.Unwrap(newPanicError(%v)) = %v; want %v", tt.value, got, tt.wantUnwrap)
			}
		})
	}
}
