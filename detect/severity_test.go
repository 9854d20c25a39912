package detect

import "testing"

func TestSeverityAtLeast(t *testing.T) {
	for _, tc := range []struct {
		s, min Severity
		want   bool
	}{
		{SeverityError, SeverityInfo, true},
		{SeverityError, SeverityError, true},
		{SeverityWarning, SeverityError, false},
		{SeverityWarning, SeverityWarning, true},
		{SeverityInfo, SeverityWarning, false},
		{SeverityInfo, SeverityInfo, true},
	} {
		if got := tc.s.AtLeast(tc.min); got != tc.want {
			t.Errorf("%s.AtLeast(%s) = %v; want %v", tc.s, tc.min, got, tc.want)
		}
	}
}
