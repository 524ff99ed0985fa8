package apimodel

import (
	"net/url"
	"strings"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// Match routes a request by method, path template and query literal
// (docs/wire.md, "Routing"). rawPath is r.URL.EscapedPath(); it is split on
// "/" before percent-decoding, so an encoded slash (%2F) stays inside its
// label. Labels are returned percent-decoded.
//
// An empty label segment ("GET /meetings/", which boto3 and JS send for
// MeetingId="") routes to the operation with that label empty, so that
// Validate answers 400 naming the member (D2, D3) instead of 404.
// "GET|DELETE /meetings/{id}/attendees/capabilities" is GetAttendee /
// DeleteAttendee with AttendeeId "capabilities" (then a 400 from the
// pattern), exactly as the templates say.
//
// An operation with a query literal matches only when the query holds that
// key exactly once with that value; an operation without one matches only
// when no literal key ("operation") is in the query at all. Unknown paths,
// methods and literal values are 404 UnknownOperationException (D4); a
// label that is not valid percent-encoding is 400 BadRequestException.
func (m *Model) Match(method, rawPath string, query url.Values) (*Operation, map[string]string, error) {
	if !strings.HasPrefix(rawPath, "/") {
		return nil, nil, unknownPath()
	}
	segs := strings.Split(rawPath[1:], "/")
	pathMatched, methodMatched := false, false
	var chosen *Operation
	for _, op := range m.ops {
		if !op.matchPath(segs) {
			continue
		}
		pathMatched = true
		if op.Method != method {
			continue
		}
		methodMatched = true
		if m.matchLiteral(op, query) {
			chosen = op
			break
		}
	}
	switch {
	case chosen != nil:
	case !pathMatched:
		return nil, nil, unknownPath()
	case !methodMatched:
		return nil, nil, apierr.New(apierr.UnknownOperation, "No operation matches method %s on this path", sanitizeMethod(method))
	default:
		return nil, nil, apierr.New(apierr.UnknownOperation, "No operation matches the 'operation' query parameter of this request")
	}
	labels := make(map[string]string, 2)
	for i, s := range chosen.segments {
		if s.label == "" {
			continue
		}
		v, err := url.PathUnescape(segs[i])
		if err != nil {
			return nil, nil, apierr.New(apierr.BadRequest, "The request path is not validly percent-encoded")
		}
		labels[s.label] = v
	}
	return chosen, labels, nil
}

func unknownPath() *apierr.Error {
	return apierr.New(apierr.UnknownOperation, "No operation matches the request path")
}

// sanitizeMethod keeps a client-chosen method out of the message unless it
// is a plain token of reasonable size.
func sanitizeMethod(method string) string {
	if method == "" || len(method) > 16 {
		return "(other)"
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; c < 'A' || c > 'Z' {
			return "(other)"
		}
	}
	return method
}

func (op *Operation) matchPath(segs []string) bool {
	if len(segs) != len(op.segments) {
		return false
	}
	for i, s := range op.segments {
		if s.label == "" && s.literal != segs[i] {
			return false
		}
	}
	return true
}

func (m *Model) matchLiteral(op *Operation, query url.Values) bool {
	if op.litKey != "" {
		v := query[op.litKey]
		return len(v) == 1 && v[0] == op.litValue
	}
	for _, k := range m.literalKeys {
		if _, ok := query[k]; ok {
			return false
		}
	}
	return true
}
