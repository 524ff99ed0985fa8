package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The canonicalisation steps below are small pure functions, one per step of
// the SigV4 canonical request (MinIO style). Each appends to dst so that one
// pooled buffer serves the whole request.
//
//	CanonicalRequest =
//	  Method '\n' CanonicalURI '\n' CanonicalQuery '\n'
//	  CanonicalHeaders '\n' SignedHeaders '\n' HexPayloadHash

// requestTarget returns the path and raw query exactly as the client sent
// them. On the server r.RequestURI is the unmodified request-target, which is
// what the client signed even if a router has since rewritten r.URL. For
// requests built in-process (RequestURI empty) or absolute-form targets it
// falls back to r.URL.
func requestTarget(r *http.Request) (path, rawQuery string) {
	if ru := r.RequestURI; ru != "" && ru[0] == '/' {
		path, rawQuery, _ = strings.Cut(ru, "?")
		return path, rawQuery
	}
	if r.URL == nil {
		return "/", ""
	}
	if r.URL.Opaque != "" {
		// "//host/path" form, as the aws-sdk-go-v2 signer documents.
		p := strings.TrimPrefix(r.URL.Opaque, "//")
		if i := strings.IndexByte(p, '/'); i >= 0 {
			return p[i:], r.URL.RawQuery
		}
		return "/", r.URL.RawQuery
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

// appendCanonicalURI appends the canonical URI for a non-S3 service: the
// path as sent on the wire (already percent-encoded by the SDK) is
// URI-encoded once more, keeping '/'. So a label "a/b c" sent as
// "/meetings/a%2Fb%20c" is canonicalised as "/meetings/a%252Fb%2520c". This
// is what aws-sdk-go-v2 (DisableURIPathEscaping=false, the default for every
// service but S3), botocore (SigV4Auth, not S3SigV4Auth) and
// @smithy/signature-v4 (uriEscapePath=true) all do. No dot-segment or
// double-slash normalisation is applied (see the package doc).
func appendCanonicalURI(dst []byte, rawPath string) []byte {
	if rawPath == "" {
		return append(dst, '/')
	}
	for i := 0; i < len(rawPath); i++ {
		c := rawPath[i]
		if c == '/' || isUnreserved(c) {
			dst = append(dst, c)
		} else {
			dst = appendPctEncoded(dst, c)
		}
	}
	return dst
}

type queryPair struct{ k, v string }

// maxQueryPairs bounds the work one request can cause; the API has at most
// three query members.
const maxQueryPairs = 256

// appendCanonicalQuery appends the canonical query string: every name and
// value is decoded the way url.ParseQuery decodes it (so the signature
// covers exactly what handlers see through r.URL.Query(): '+' is a space,
// pairs with bad escapes or a ';' are dropped), RFC 3986-encoded (unreserved
// characters literal, everything else %XX upper-case, space %20), then
// sorted by encoded name and then encoded value. ok is false if the query
// has more than maxQueryPairs pairs.
func appendCanonicalQuery(dst []byte, rawQuery string) (_ []byte, ok bool) {
	if rawQuery == "" {
		return dst, true
	}
	var stack [8]queryPair
	pairs := stack[:0]
	for q := rawQuery; q != ""; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" || strings.IndexByte(kv, ';') >= 0 {
			continue
		}
		if len(pairs) == maxQueryPairs {
			return dst, false
		}
		k, v, _ := strings.Cut(kv, "=")
		ck, ok1 := canonicalQueryComponent(k)
		cv, ok2 := canonicalQueryComponent(v)
		if !ok1 || !ok2 {
			continue
		}
		pairs = append(pairs, queryPair{ck, cv})
	}
	slices.SortFunc(pairs, func(a, b queryPair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.k...)
		dst = append(dst, '=')
		dst = append(dst, p.v...)
	}
	return dst, true
}

// canonicalQueryComponent returns the RFC 3986 encoding of the decoded form
// of s. The SDKs already send canonical encodings, so the common case returns
// s itself without allocating.
func canonicalQueryComponent(s string) (string, bool) {
	if isCanonicalEncoded(s) {
		return s, true
	}
	dec, err := url.QueryUnescape(s)
	if err != nil {
		return "", false
	}
	out := make([]byte, 0, len(dec)*3)
	for i := 0; i < len(dec); i++ {
		if c := dec[i]; isUnreserved(c) {
			out = append(out, c)
		} else {
			out = appendPctEncoded(out, c)
		}
	}
	return string(out), true
}

// isCanonicalEncoded reports whether s is already the RFC 3986 encoding of
// its own decoded form: only unreserved characters and upper-case %XX
// escapes of bytes that are not unreserved.
func isCanonicalEncoded(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			continue
		}
		if c != '%' || i+2 >= len(s) {
			return false
		}
		h, l := upperHexVal(s[i+1]), upperHexVal(s[i+2])
		if h < 0 || l < 0 || isUnreserved(byte(h<<4|l)) {
			return false
		}
		i += 2
	}
	return true
}

// appendCanonicalHeaders appends "name:value\n" for every signed header, in
// the (sorted) order given. Go's server moves Host to r.Host and may keep
// Content-Length only in r.ContentLength, so both are reconstructed. Values
// are trimmed and runs of spaces collapsed to one, as aws-sdk-go-v2 does;
// repeated headers are joined with ','.
func appendCanonicalHeaders(dst []byte, r *http.Request, names []string) []byte {
	for _, name := range names {
		dst = append(dst, name...)
		dst = append(dst, ':')
		switch name {
		case "host":
			host := r.Host
			if host == "" && r.URL != nil {
				host = r.URL.Host
			}
			dst = appendHeaderValue(dst, host)
			dst = append(dst, '\n')
			continue
		}
		values := headerValues(r.Header, name)
		if len(values) == 0 && name == "content-length" && r.ContentLength >= 0 {
			dst = strconv.AppendInt(dst, r.ContentLength, 10)
		}
		for i, v := range values {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendHeaderValue(dst, v)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// headerValues looks up the lower-case name in h: first by its canonical
// MIME key (what net/http's server stores), built on the stack so the map
// lookup does not allocate, then by a case-insensitive scan for maps built by
// hand.
func headerValues(h http.Header, lower string) []string {
	var buf [64]byte
	if len(lower) <= len(buf) {
		key := buf[:len(lower)]
		upper := true
		for i := 0; i < len(lower); i++ {
			c := lower[i]
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			key[i] = c
			upper = c == '-'
		}
		if v, ok := h[string(key)]; ok {
			return v
		}
	}
	var out []string
	for k, v := range h {
		if strings.EqualFold(k, lower) {
			out = append(out, v...)
		}
	}
	return out
}

// appendHeaderValue trims leading and trailing spaces and tabs and collapses
// inner runs of spaces to a single space.
func appendHeaderValue(dst []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// appendSignedHeaders appends the ';'-joined signed header names.
func appendSignedHeaders(dst []byte, names []string) []byte {
	for i, n := range names {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = append(dst, n...)
	}
	return dst
}

// appendCanonicalRequest appends the whole canonical request. ok is false if
// the query is too large to canonicalise.
func appendCanonicalRequest(dst []byte, r *http.Request, a *Authorization, payloadHash string) (_ []byte, ok bool) {
	path, rawQuery := requestTarget(r)
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, path)
	dst = append(dst, '\n')
	if dst, ok = appendCanonicalQuery(dst, rawQuery); !ok {
		return dst, false
	}
	dst = append(dst, '\n')
	dst = appendCanonicalHeaders(dst, r, a.SignedHeaders)
	dst = append(dst, '\n')
	dst = appendSignedHeaders(dst, a.SignedHeaders)
	dst = append(dst, '\n')
	dst = append(dst, payloadHash...)
	return dst, true
}

// appendStringToSign appends
//
//	AWS4-HMAC-SHA256 '\n' X-Amz-Date '\n' scope '\n' hex(sha256(canonicalRequest))
func appendStringToSign(dst []byte, amzDate string, a *Authorization, canonicalRequest []byte) []byte {
	sum := sha256.Sum256(canonicalRequest)
	dst = append(dst, Algorithm...)
	dst = append(dst, '\n')
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = append(dst, a.Date...)
	dst = append(dst, '/')
	dst = append(dst, a.Region...)
	dst = append(dst, '/')
	dst = append(dst, a.Service...)
	dst = append(dst, "/"+scopeTerminator+"\n"...)
	return hex.AppendEncode(dst, sum[:])
}

// deriveSigningKey returns HMAC chain "AWS4"+secret → date → region →
// service → "aws4_request".
func deriveSigningKey(secret, date, region, service string) [32]byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k[:], []byte(region))
	k = hmacSHA256(k[:], []byte(service))
	return hmacSHA256(k[:], []byte(scopeTerminator))
}

// hmacSHA256 is RFC 2104 HMAC over SHA-256. It is written out with
// sha256.Sum256 so the per-request MAC does not allocate; it is tested
// against crypto/hmac.
func hmacSHA256(key, msg []byte) [32]byte {
	const block = sha256.BlockSize
	var k [block]byte
	if len(key) > block {
		s := sha256.Sum256(key)
		copy(k[:], s[:])
	} else {
		copy(k[:], key)
	}
	var inner [block + 256]byte
	buf := inner[:0]
	if len(msg) > len(inner)-block {
		buf = make([]byte, 0, block+len(msg))
	}
	for i := range block {
		buf = append(buf, k[i]^0x36)
	}
	buf = append(buf, msg...)
	ih := sha256.Sum256(buf)
	var outer [block + sha256.Size]byte
	for i := range block {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[block:], ih[:])
	return sha256.Sum256(outer[:])
}

const upperHex = "0123456789ABCDEF"

func appendPctEncoded(dst []byte, c byte) []byte {
	return append(dst, '%', upperHex[c>>4], upperHex[c&15])
}

func upperHexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isUnreserved reports RFC 3986 unreserved characters: A-Z a-z 0-9 - . _ ~
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
