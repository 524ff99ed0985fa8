package ids

import (
	"strings"
	"testing"
)

func TestValidateExternalID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"user-1", nil},
		{"José Ñúñez", nil}, // À-ÿ and \s
		{"a_b&c@d+e=f,g(h)i{j}k[l]m/n«o»p.q:r|s'\"#", nil}, // the whole documented set
		{"tab\tnewline\nvt\x0b", nil},                      // \s in Java includes \x0B
		{"", nil},                                          // pattern is *; length is Validate's job
		{"aws-user", nil},
		{"user aws:", nil},
		{"aws:", ErrExternalIDReserved},
		{"aws:user", ErrExternalIDReserved},
		{"AWS:user", ErrExternalIDReserved},
		{"Aws:User", ErrExternalIDReserved},
		{"awS:", ErrExternalIDReserved},
		{"aws:bad~", ErrExternalIDReserved},
		{"user~1", ErrExternalIDPattern},
		{"emoji 🙂", ErrExternalIDPattern},
		{"ā", ErrExternalIDPattern}, // U+0101, just past ÿ
		{"nul\x00", ErrExternalIDPattern},
		{"a\u2028b", ErrExternalIDPattern},
		{"<script>", ErrExternalIDPattern},
		{"\xff", ErrExternalIDPattern}, // invalid UTF-8
	} {
		if got := ValidateExternalID(tc.in); got != tc.want {
			t.Errorf("ValidateExternalID(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, err := range []error{ErrExternalIDPattern, ErrExternalIDReserved} {
		if !strings.HasPrefix(err.Error(), "Member must") {
			t.Errorf("error %q is not in AWS constraint style", err)
		}
	}
}
