package b

import (
	"testing"
	"time"
)

func TestB(t *testing.T) { time.Sleep(50 * time.Millisecond) }
