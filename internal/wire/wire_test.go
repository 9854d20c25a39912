package wire

import (
	"errors"
	"strconv"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	events := []Event{
		{Kind: KindMutex, Object: 7, Op: OpLock, Seq: 12, Depth: 3},
		{Kind: KindSemaphore, Object: 2, Op: OpAcquire, Seq: 40, N: 5, Ref: 39},
		{Kind: KindSingleflight, Object: 4, Op: OpFollow, Seq: 9, Depth: 1, Key: "user 42 \"quoted\" n=3"},
		{Kind: KindWaitGroup, Object: 1, Op: OpAdd, N: -1, Depth: 0},
		{Kind: KindChan, Object: 1 << 60, Op: OpRecv, Seq: 1<<64 - 1, N: 4, Ref: 3},
		{Kind: KindCond, Object: 3, Op: OpName, Key: ""},
	}
	for _, k := range Kinds() {
		for _, o := range Ops() {
			events = append(events, Event{Kind: k, Object: 1, Op: o, Seq: 1})
		}
	}
	for _, want := range events {
		msg := want.Encode()
		got, err := Decode(Category, msg)
		if err != nil {
			t.Fatalf("Decode(%q) error: %v", msg, err)
		}
		if got != want {
			t.Errorf("Decode(%q) = %+v; want %+v", msg, got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		category, message string
	}{
		{"blockscope/v2", "mutex 1 lock 1"},
		{"other", "mutex 1 lock 1"},
		{Category, ""},
		{Category, "mutex"},
		{Category, "mutex 0 lock 1"},
		{Category, "mutex x lock 1"},
		{Category, "blob 1 lock 1"},
		{Category, "mutex 1 eat 1"},
		{Category, "mutex 1 lock"},
		{Category, "mutex 1 lock -1"},
		{Category, "mutex 1 lock 1 n"},
		{Category, "mutex 1 lock 1 n=x"},
		{Category, "mutex 1 lock 1 zz=1"},
		{Category, `sf 1 lead 1 key="abc`},
		{Category, `sf 1 lead 1 key="abc" n=1`},
	}
	for _, tt := range tests {
		_, err := Decode(tt.category, tt.message)
		var we *Error
		if !errors.As(err, &we) {
			t.Errorf("Decode(%q, %q) = %v; want *Error", tt.category, tt.message, err)
		}
	}
}

func TestIdent(t *testing.T) {
	var a, b Ident
	ida, idb := a.ID(), b.ID()
	if ida == NoObject || idb == NoObject || ida == idb {
		t.Fatalf("ids %d, %d; want distinct non-zero", ida, idb)
	}
	if a.ID() != ida {
		t.Errorf("second ID() = %d; want %d", a.ID(), ida)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Category, "mutex 7 lock 12 depth=3")
	f.Add(Category, `sf 4 follow 9 key="user:42"`)
	f.Add("blockscope/v9", "x")
	f.Fuzz(func(t *testing.T, category, message string) {
		e, err := Decode(category, message)
		if err != nil {
			return
		}
		again, err := Decode(Category, e.Encode())
		if err != nil || again != e {
			t.Fatalf("re-decode of %q = %+v, %v; want %+v", e.Encode(), again, err, e)
		}
	})
}

// TestParseUint checks the fast path against strconv.ParseUint.
func TestParseUint(t *testing.T) {
	for _, s := range []string{"", "0", "7", "007", "1234567890123456789", "9999999999999999999",
		"18446744073709551615", "18446744073709551616", "+1", "-1", "1_0", "0x10", "12a", " 1"} {
		got, gerr := parseUint(s)
		want, werr := strconv.ParseUint(s, 10, 64)
		if got != want || (gerr == nil) != (werr == nil) {
			t.Errorf("parseUint(%q) = %d, %v; want %d, %v", s, got, gerr, want, werr)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	msgs := []string{"mutex 1234567 lock 98765", "wg 7654321 add 12345 n=1", `sf 4 lead 9 key="user:42"`, "rwmutex 77 runlock 1234 depth=2"}
	for i := 0; b.Loop(); i++ {
		if _, err := Decode(Category, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
}
