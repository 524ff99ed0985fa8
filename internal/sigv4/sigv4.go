package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// Keys looks up the secret of an access key. ok=false means unknown key.
type Keys interface {
	Secret(ctx context.Context, accessKeyID string) (secret string, ok bool, err error)
}

// StaticKeys is a one-key Keys (root credentials, D24).
type StaticKeys struct{ AccessKeyID, SecretAccessKey string }

// Secret implements Keys.
func (s StaticKeys) Secret(_ context.Context, accessKeyID string) (string, bool, error) {
	if s.AccessKeyID == "" || accessKeyID != s.AccessKeyID {
		return "", false, nil
	}
	return s.SecretAccessKey, true, nil
}

// DefaultMaxSkew is the allowed difference between X-Amz-Date and the
// server's clock, in either direction, as AWS allows.
const DefaultMaxSkew = 15 * time.Minute

// AmzDateFormat is the X-Amz-Date layout.
const AmzDateFormat = "20060102T150405Z"

// emptySHA256 is the hex SHA-256 of an empty body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Verifier checks SigV4 Authorization headers. Its zero value is not usable:
// set Region, Service and Keys. A Verifier is safe for concurrent use; do not
// copy it after first use (it holds a signing-key cache).
type Verifier struct {
	Region  string           // the server's region; scope must match
	Service string           // "chime"
	Keys    Keys             // access key → secret
	Now     func() time.Time // injectable clock; nil = time.Now
	MaxSkew time.Duration    // 0 = DefaultMaxSkew

	// Dev is development mode (carillon serve --dev), like LocalStack: any
	// access key is accepted, the signature's shape is checked but not its
	// value, and the scope may name Region or any of DevRegions. Everything
	// else (algorithm, service, date, skew, signed headers, payload hash)
	// is checked as usual, so a client that works in dev mode is signing
	// like a real one.
	Dev        bool
	DevRegions []string

	cache keyCache
}

func unauthorized(msg string) *apierr.Error {
	return &apierr.Error{Kind: apierr.Unauthorized, Message: msg}
}

// Fixed messages, allocated once.
var (
	errMissingAuth      = unauthorized("missing Authorization header: requests must be signed with AWS Signature Version 4")
	errQueryAuth        = unauthorized("query-string authentication is not supported: sign the request with an Authorization header")
	errBothAuth         = unauthorized("only one authentication mechanism is allowed: found both an Authorization header and X-Amz-* query authentication")
	errMultipleAuth     = unauthorized("malformed Authorization header: more than one Authorization header")
	errUnsupportedAlg   = unauthorized("unsupported authorization algorithm: only AWS4-HMAC-SHA256 is supported")
	errMissingDate      = unauthorized("missing X-Amz-Date header")
	errBadDate          = unauthorized("malformed X-Amz-Date header: want the form 20060102T150405Z")
	errDateNotSigned    = unauthorized("X-Amz-Date must be a signed header")
	errHostNotSigned    = unauthorized("the host header must be signed")
	errScopeDate        = unauthorized("credential scope date does not match the date of X-Amz-Date")
	errUnsignedPayload  = unauthorized("unsigned or streaming payloads are not supported: X-Amz-Content-Sha256 must be the SHA-256 of the body")
	errPayloadMismatch  = unauthorized("payload hash mismatch: X-Amz-Content-Sha256 does not match the SHA-256 of the request body")
	errUnknownKey       = unauthorized("unknown access key: the access key id in the credential scope does not exist")
	errSignature        = unauthorized("signature mismatch: the request signature we calculated does not match the signature you provided; check your secret access key and signing method")
	errTooManyParams    = unauthorized("malformed request: too many query parameters to verify the signature")
	errKeyLookupFailure = &apierr.Error{Kind: apierr.ServiceFailure, Message: "the access key could not be looked up"}
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// Verify checks r's Authorization header against body (the full request
// body, already read). It returns the access key id on success, or an error
// that is an *apierr.Error of Kind apierr.Unauthorized whose Message says
// which check failed; a Keys lookup error is Kind apierr.ServiceFailure. Messages
// never contain the secret, the expected signature or the string to sign.
func (v *Verifier) Verify(r *http.Request, body []byte) (accessKeyID string, err error) {
	authValues := r.Header["Authorization"]
	queryAuth := hasQueryAuth(r)
	switch {
	case len(authValues) == 0 && queryAuth:
		return "", errQueryAuth
	case len(authValues) == 0:
		return "", errMissingAuth
	case queryAuth:
		return "", errBothAuth
	case len(authValues) > 1:
		return "", errMultipleAuth
	}
	a, perr := ParseAuthorization(authValues[0])
	if perr != nil {
		if errors.Is(perr, ErrUnsupportedAlgorithm) {
			return "", errUnsupportedAlg
		}
		return "", unauthorized(perr.Error())
	}

	// Credential scope.
	if a.Service != v.Service {
		return "", apierr.New(apierr.Unauthorized, "wrong service in the credential scope: %q, want %q", a.Service, v.Service)
	}
	if a.Region != v.Region && !(v.Dev && slices.Contains(v.DevRegions, a.Region)) {
		return "", apierr.New(apierr.Unauthorized, "wrong region in the credential scope: %q, want %q", a.Region, v.Region)
	}

	// Request time.
	dates := r.Header["X-Amz-Date"]
	if len(dates) == 0 {
		return "", errMissingDate
	}
	amzDate := dates[0]
	if len(dates) > 1 || len(amzDate) != len(AmzDateFormat) {
		return "", errBadDate
	}
	t, terr := time.Parse(AmzDateFormat, amzDate)
	if terr != nil {
		return "", errBadDate
	}
	if !signed(a.SignedHeaders, "x-amz-date") {
		return "", errDateNotSigned
	}
	if amzDate[:8] != a.Date {
		return "", errScopeDate
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	n := now()
	if d := n.Sub(t); d > skew || d < -skew {
		return "", apierr.New(apierr.Unauthorized,
			"request time too skewed: X-Amz-Date %s is more than %s away from the server time %s",
			amzDate, skew, n.UTC().Format(AmzDateFormat))
	}

	if !signed(a.SignedHeaders, "host") {
		return "", errHostNotSigned
	}

	// Payload.
	sum := sha256.Sum256(body)
	var payloadHex [64]byte
	hex.Encode(payloadHex[:], sum[:])
	if claimed, ok := r.Header["X-Amz-Content-Sha256"]; ok {
		if len(claimed) != 1 {
			return "", errPayloadMismatch
		}
		c := claimed[0]
		if c == "UNSIGNED-PAYLOAD" || strings.HasPrefix(c, "STREAMING-") {
			return "", errUnsignedPayload
		}
		if c != string(payloadHex[:]) {
			return "", errPayloadMismatch
		}
	}

	var want [32]byte
	if _, derr := hex.Decode(want[:], []byte(a.Signature)); derr != nil {
		return "", unauthorized("malformed Authorization header: bad Signature")
	}
	if v.Dev {
		return a.AccessKeyID, nil
	}

	// Key.
	secret, ok, kerr := v.Keys.Secret(r.Context(), a.AccessKeyID)
	if kerr != nil {
		return "", errKeyLookupFailure
	}
	if !ok {
		return "", errUnknownKey
	}

	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			bufPool.Put(bp)
		}
	}()
	buf, ok := appendCanonicalRequest((*bp)[:0], r, &a, string(payloadHex[:]))
	if !ok {
		*bp = buf
		return "", errTooManyParams
	}
	crLen := len(buf)
	buf = appendStringToSign(buf, amzDate, &a, buf[:crLen])
	*bp = buf
	key := v.cache.signingKey(a.AccessKeyID, secret, a.Date, a.Region, a.Service)
	got := hmacSHA256(key[:], buf[crLen:])
	if !hmac.Equal(got[:], want[:]) {
		return "", errSignature
	}
	return a.AccessKeyID, nil
}

// hasQueryAuth reports whether the query carries presigned-URL SigV4 fields.
func hasQueryAuth(r *http.Request) bool {
	if r.URL == nil {
		return false
	}
	q := r.URL.RawQuery
	if !strings.Contains(q, "X-Amz-") {
		return false
	}
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Algorithm":
			return true
		}
	}
	return false
}

func signed(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// keyCache memoises the derived signing key per access key. It holds at most
// one entry per known access key (entries are only made after Keys said the
// key exists), and the entry is replaced when the secret or scope changes.
type keyCache struct {
	mu sync.RWMutex
	m  map[string]*cachedKey
}

type cachedKey struct {
	secret, date, region, service string
	key                           [32]byte
}

func (c *keyCache) signingKey(akid, secret, date, region, service string) [32]byte {
	c.mu.RLock()
	e := c.m[akid]
	c.mu.RUnlock()
	if e != nil && e.secret == secret && e.date == date && e.region == region && e.service == service {
		return e.key
	}
	e = &cachedKey{
		secret: secret, date: strings.Clone(date), region: strings.Clone(region), service: strings.Clone(service),
		key: deriveSigningKey(secret, date, region, service),
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]*cachedKey)
	}
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	c.m[strings.Clone(akid)] = e
	c.mu.Unlock()
	return e.key
}

// maxCachedKeys bounds the cache if Keys knows very many access keys.
const maxCachedKeys = 4096
