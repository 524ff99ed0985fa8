package sigv4

import (
	"errors"
	"fmt"
	"strings"
)

// Algorithm is the only signing algorithm the server accepts.
const Algorithm = "AWS4-HMAC-SHA256"

// scopeTerminator ends every SigV4 credential scope.
const scopeTerminator = "aws4_request"

// Errors returned (wrapped) by ParseAuthorization.
var (
	// ErrMalformedAuthorization: the header is not a well-formed SigV4
	// Authorization header.
	ErrMalformedAuthorization = errors.New("malformed Authorization header")
	// ErrUnsupportedAlgorithm: the header uses an algorithm other than
	// AWS4-HMAC-SHA256 (for example SigV2, or SigV4a's AWS4-ECDSA-P256-SHA256).
	ErrUnsupportedAlgorithm = errors.New("unsupported authorization algorithm")
)

// Authorization is a parsed SigV4 Authorization header. All strings are
// sub-strings of the parsed header (no copies).
type Authorization struct {
	AccessKeyID string
	// Date is the credential scope date, YYYYMMDD.
	Date    string
	Region  string
	Service string
	// SignedHeaders are lower-case, strictly ascending (sorted, unique).
	SignedHeaders []string
	// Signature is 64 lower-case hex digits.
	Signature string
}

// String renders a in the canonical form the AWS SDKs send. It is the
// inverse of ParseAuthorization for well-formed values.
func (a Authorization) String() string {
	return Algorithm + " Credential=" + a.AccessKeyID + "/" + a.Date + "/" + a.Region + "/" + a.Service + "/" + scopeTerminator +
		", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
}

func malformed(detail string) error {
	return fmt.Errorf("%w: %s", ErrMalformedAuthorization, detail)
}

// ParseAuthorization parses an
//
//	AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex
//
// header. The three components may come in any order, separated by a comma
// with or without spaces (or by spaces alone); each must appear exactly once.
// Errors wrap ErrUnsupportedAlgorithm or ErrMalformedAuthorization, and never
// quote the header.
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	h = trimOWS(h)
	alg, rest, ok := cutAny(h, " \t")
	if !ok {
		if h == Algorithm {
			return a, malformed("missing Credential, SignedHeaders and Signature")
		}
		if h == "" {
			return a, malformed("empty")
		}
		return a, ErrUnsupportedAlgorithm
	}
	if alg != Algorithm {
		return a, ErrUnsupportedAlgorithm
	}
	var haveCred, haveSH, haveSig bool
	var signedHeaders string
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			break
		}
		var part string
		if i := strings.IndexAny(rest, " \t,"); i >= 0 {
			part, rest = rest[:i], rest[i:]
		} else {
			part, rest = rest, ""
		}
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return a, malformed("component without '='")
		}
		switch name {
		case "Credential":
			if haveCred {
				return a, malformed("duplicate Credential")
			}
			haveCred = true
			if err := parseCredential(value, &a); err != nil {
				return a, err
			}
		case "SignedHeaders":
			if haveSH {
				return a, malformed("duplicate SignedHeaders")
			}
			haveSH = true
			signedHeaders = value
		case "Signature":
			if haveSig {
				return a, malformed("duplicate Signature")
			}
			haveSig = true
			if !isLowerHex(value, 64) {
				return a, malformed("Signature must be 64 lower-case hex digits")
			}
			a.Signature = value
		default:
			return a, malformed("unknown component")
		}
	}
	switch {
	case !haveCred:
		return a, malformed("missing Credential")
	case !haveSH:
		return a, malformed("missing SignedHeaders")
	case !haveSig:
		return a, malformed("missing Signature")
	}
	sh, err := parseSignedHeaders(signedHeaders)
	if err != nil {
		return a, err
	}
	a.SignedHeaders = sh
	return a, nil
}

// parseCredential parses AKID/YYYYMMDD/region/service/aws4_request.
func parseCredential(v string, a *Authorization) error {
	var f [5]string
	for i := 0; i < 4; i++ {
		var ok bool
		f[i], v, ok = strings.Cut(v, "/")
		if !ok {
			return malformed("Credential must be access-key-id/date/region/service/aws4_request")
		}
	}
	f[4] = v
	if f[4] != scopeTerminator {
		return malformed("credential scope must end in aws4_request")
	}
	if f[0] == "" || !isScopeToken(f[0]) {
		return malformed("bad access key id in Credential")
	}
	if !isDigits(f[1], 8) {
		return malformed("credential scope date must be YYYYMMDD")
	}
	if f[2] == "" || !isScopeToken(f[2]) {
		return malformed("bad region in credential scope")
	}
	if f[3] == "" || !isScopeToken(f[3]) {
		return malformed("bad service in credential scope")
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = f[0], f[1], f[2], f[3]
	return nil
}

// parseSignedHeaders splits "a;b;c", requiring lower-case header-name tokens
// in strictly ascending order, as every SDK produces them.
func parseSignedHeaders(v string) ([]string, error) {
	if v == "" {
		return nil, malformed("empty SignedHeaders")
	}
	n := strings.Count(v, ";") + 1
	if n > maxSignedHeaders {
		return nil, malformed("too many SignedHeaders")
	}
	out := make([]string, 0, n)
	prev := ""
	for i := 0; i < n; i++ {
		var name string
		name, v, _ = strings.Cut(v, ";")
		if !isLowerToken(name) {
			return nil, malformed("SignedHeaders must be lower-case header names separated by ';'")
		}
		if i > 0 && name <= prev {
			return nil, malformed("SignedHeaders must be sorted and unique")
		}
		out = append(out, name)
		prev = name
	}
	return out, nil
}

// maxSignedHeaders bounds the work one request can cause.
const maxSignedHeaders = 64

func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}

func cutAny(s, chars string) (before, after string, found bool) {
	if i := strings.IndexAny(s, chars); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isScopeToken accepts the characters that can appear in access key ids,
// regions and service names, which keeps them safe to quote in messages.
func isScopeToken(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// isLowerToken reports whether s is a non-empty lower-case RFC 9110 token.
func isLowerToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || !isTokenChar(c) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
