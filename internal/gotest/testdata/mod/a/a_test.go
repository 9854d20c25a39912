package a

import (
	"testing"
	"time"
)

func TestA(t *testing.T) { time.Sleep(50 * time.Millisecond) }
