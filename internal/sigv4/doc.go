// Package sigv4 verifies AWS Signature Version 4 Authorization headers (D23):
// every request must be signed with AWS4-HMAC-SHA256 for service "chime" and
// the server's region, by an access key that Keys knows (D24), within 15
// minutes of the server's clock.
//
// # What is checked, in order
//
//  1. An Authorization header is present (exactly one). Presigned-URL query
//     authentication (X-Amz-Signature / X-Amz-Credential / X-Amz-Algorithm in
//     the query) is not supported: such a request without an Authorization
//     header gets 401 "query-string authentication is not supported"; with
//     one as well, 401 "only one authentication mechanism is allowed".
//  2. The header parses (ParseAuthorization) and uses AWS4-HMAC-SHA256.
//  3. The credential scope names Verifier.Service and Verifier.Region.
//  4. X-Amz-Date is present, well-formed (20060102T150405Z), signed, its date
//     equals the scope date, and it is within MaxSkew of Now in either
//     direction.
//  5. host is among SignedHeaders.
//  6. If X-Amz-Content-Sha256 is sent (JS v3 sends it, boto3 and Go do not)
//     it must equal the SHA-256 of the body; UNSIGNED-PAYLOAD and STREAMING-*
//     are rejected.
//  7. Keys knows the access key (a lookup error is a 500 ServiceFailure).
//  8. The signature recomputed over the actual body hash equals the one sent
//     (constant-time, crypto/hmac.Equal). A body changed after signing
//     therefore fails here (or at 6).
//
// Every failure is a 401 apierr.Unauthorized whose Message names the check.
// Messages never carry the secret, the computed signature, the canonical
// request or the string to sign.
//
// # Why hand-written canonicalisation rather than the SDK signer
//
// aws-sdk-go-v2's aws/signer/v4 can recompute a signature, but it cannot be
// made to reproduce every signature the official SDKs produce:
//   - it decides which headers to sign itself, so it must be handed a copy
//     of the request carrying exactly the client's signed headers, and even
//     then it adds content-length whenever r.ContentLength > 0, can never
//     sign "content-length: 0" (a client may), and drops User-Agent, Expect,
//     X-Amzn-Trace-Id and Transfer-Encoding if a client signed them;
//   - it re-sets X-Amz-Date and X-Amz-Security-Token and rewrites r.Host
//     (default-port stripping) on the request it is handed;
//   - it allocates heavily (a cloned request, header maps, url.Values,
//     several strings and hashers) on a path that runs for every request.
//
// So the canonical request is built by small pure functions, one per SigV4
// step (MinIO's cmd/signature-v4.go style), appending into one pooled
// buffer: the client's own SignedHeaders list is honoured exactly. The SDK
// signer is used in the tests as the reference: requests signed by it and by
// a real chimesdkmeetings client must verify, and the canonical request it
// logs must equal ours byte for byte. Requests signed by botocore and by
// @smithy/signature-v4 (the JS v3 signer) are checked from recorded fixtures.
//
// # Canonicalisation details
//
// Canonical URI. For every service but S3 the three SDKs URI-encode the
// already-escaped wire path a second time ("double encoding"): aws-sdk-go-v2
// with DisableURIPathEscaping=false (chimesdkmeetings does not override it)
// runs httpbinding.EscapePath over URL.EscapedPath(); botocore's SigV4Auth
// quotes the escaped path with safe='/~'; @smithy/signature-v4 with
// uriEscapePath=true escapes the path again. A label "a/b c" travels as
// "a%2Fb%20c" and is signed as "a%252Fb%2520c". This package reads the path
// from r.RequestURI (the unmodified request-target; r.URL is a fallback for
// in-process requests) and encodes it once more. botocore and the JS signer
// also remove "." / ".." segments and empty segments ("//") before encoding
// and Go's does not; no operation of this API produces such paths (labels
// are non-empty ids), so no normalisation is applied and those requests
// fail with a signature mismatch.
//
// Canonical query. Names and values are decoded as url.ParseQuery decodes
// them ('+' is a space; pairs with a ';' or a bad escape are dropped, so the
// signature covers exactly what handlers read from r.URL.Query()),
// re-encoded per RFC 3986 (space as %20, upper-case hex) and sorted by
// encoded name, then encoded value.
//
// Canonical headers. Host comes from r.Host (net/http moves it out of
// r.Header); content-length from the header or, failing that,
// r.ContentLength. Values are trimmed and inner runs of spaces collapsed to
// one (as aws-sdk-go-v2; botocore and JS also collapse tabs, which no SDK
// puts in a header it signs); repeated headers are joined with ','.
// SignedHeaders must be lower-case, sorted and unique, as every SDK sends
// them. Access key ids, regions and services in the credential scope are
// limited to A-Z a-z 0-9 - _ . (so root keys from D24 must be too).
//
// # Performance
//
// The derived signing key is cached per access key (invalidated when the
// secret or the scope changes), the final HMAC-SHA256 is computed with
// sha256.Sum256 on stack buffers, and query components already in canonical
// form (what the SDKs send) are used without copying. See BenchmarkVerify.
package sigv4
