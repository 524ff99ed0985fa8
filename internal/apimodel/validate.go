package apimodel

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// Validation semantics (D2, D5), decided where the model is silent:
//
//   - Body: ignored entirely on operations without body members. Otherwise
//     an empty body (zero bytes; JS sends none when no member is set) is
//     {}; anything else must be exactly one JSON object (trailing data is
//     an error). Decoding errors are reported alone, before any member
//     (D2 order: body decoding, then validation).
//   - JSON null is treated as "absent" everywhere: a null required member
//     fails "must not be null", a null optional member passes, a null list
//     element fails (elements are required).
//   - Key matching follows encoding/json, which the handlers decode with:
//     a key equal to a member name under case folding IS that member (so
//     {"maxcount": 999} cannot slip past validation into MaxCount), and
//     two keys naming the same member in one object are a 400 (they would
//     be merged or overwritten by the decoder). Unknown keys are ignored
//     (D5), whatever their value.
//   - Types: string members need JSON strings, integer members JSON
//     numbers written as integers (no fraction or exponent: "1.0" and "1e2"
//     are rejected as the handlers' decoder would), boolean members
//     true/false, lists arrays, structures objects.
//   - String lengths count Unicode code points (Smithy @length semantics);
//     list lengths count items; integer ranges are inclusive.
//   - Patterns are full matches (D2) with Java class semantics (javaToRE2);
//     TenantId's lookahead/backreference pattern is enforced in code.
//   - When a list has more items than its max, its items are not checked
//     one by one, so a huge list cannot produce a huge message.
//   - URI labels: an empty label counts as absent ("must not be null").
//     Query members: every occurrence of the key is checked; integers must
//     parse as base-10 integers (strconv.ParseInt).
//
// Messages follow the AWS validation style and name the member path, never
// its value (many members are sensitive):
//
//	2 validation errors detected: Value at 'Capabilities.Audio' failed to
//	satisfy constraint: Member must satisfy enum value set: [SendReceive,
//	Send, Receive, None]; Value at 'MeetingId' failed to satisfy
//	constraint: Member must not be null
//
// Errors are listed in model member order (labels and query members in
// their model position), list items by index.

// maxDepth bounds JSON nesting. The model nests 4 deep; the rest is room for
// unknown members (D5) without unbounded recursion.
const maxDepth = 64

// Validate checks the whole input of op (labels from Match, the query, the
// body) against every constraint of the model and the documentation-only
// rules. It returns nil or a 400 BadRequestException naming every failing
// member path.
func (op *Operation) Validate(labels map[string]string, query url.Values, body []byte) *apierr.Error {
	var root *jnode
	if op.HasBody {
		if len(body) == 0 {
			root = &jnode{kind: jObject}
		} else {
			n, err := parseBody(body)
			if err != nil {
				return apierr.New(apierr.BadRequest, "%s", err.Error())
			}
			root = n
		}
	}
	v := validator{}
	for _, mem := range op.top {
		switch mem.Location {
		case "uri":
			val, ok := labels[mem.LocationName]
			if !ok || val == "" {
				v.add(mem.Path, "Member must not be null")
				continue
			}
			v.checkString(mem, pathRef{name: mem.Path}, val)
		case "querystring":
			vals := query[mem.LocationName]
			if len(vals) == 0 {
				if mem.Required {
					v.add(mem.Path, "Member must not be null")
				}
				continue
			}
			for _, val := range vals {
				if mem.Type == "integer" {
					n, err := strconv.ParseInt(val, 10, 64)
					if err != nil && !errors.Is(err, strconv.ErrRange) {
						v.add(mem.Path, "Member must be an integer")
						continue
					}
					v.checkInt(mem, pathRef{name: mem.Path}, n, err)
					continue
				}
				v.checkString(mem, pathRef{name: mem.Path}, val)
			}
		case "body":
			v.checkField(mem, nil, root)
		}
	}
	if len(v.msgs) == 0 {
		return nil
	}
	return v.error()
}

// ---- decoding ----

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// jnode is a decoded JSON value. Objects keep every key in order, including
// duplicates, so that validation sees exactly what was sent.
type jnode struct {
	kind jkind
	str  string // string value or number literal
	keys []string
	kids []jnode // object values (parallel to keys) or array elements
}

type decodeError string

func (e decodeError) Error() string { return string(e) }

const (
	errNotJSON      = decodeError("The request body is not valid JSON")
	errNotObject    = decodeError("The request body must be a JSON object")
	errTooDeep      = decodeError("The request body is nested too deeply")
	errTrailingJSON = decodeError("The request body must hold a single JSON object")
)

func parseBody(body []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, errNotJSON
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	root, err := parseValue(dec, tok, 1)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return nil, errTrailingJSON
		}
		return nil, errNotJSON
	}
	return &root, nil
}

func parseValue(dec *json.Decoder, tok json.Token, depth int) (jnode, error) {
	switch t := tok.(type) {
	case nil:
		return jnode{kind: jNull}, nil
	case bool:
		if t {
			return jnode{kind: jBool, str: "true"}, nil
		}
		return jnode{kind: jBool, str: "false"}, nil
	case json.Number:
		return jnode{kind: jNumber, str: string(t)}, nil
	case string:
		return jnode{kind: jString, str: t}, nil
	case json.Delim:
		if depth > maxDepth {
			return jnode{}, errTooDeep
		}
		switch t {
		case '{':
			n := jnode{kind: jObject}
			for {
				kt, err := dec.Token()
				if err != nil {
					return jnode{}, errNotJSON
				}
				if d, ok := kt.(json.Delim); ok && d == '}' {
					return n, nil
				}
				key, ok := kt.(string)
				if !ok {
					return jnode{}, errNotJSON
				}
				vt, err := dec.Token()
				if err != nil {
					return jnode{}, errNotJSON
				}
				child, err := parseValue(dec, vt, depth+1)
				if err != nil {
					return jnode{}, err
				}
				n.keys = append(n.keys, key)
				n.kids = append(n.kids, child)
			}
		case '[':
			n := jnode{kind: jArray}
			for {
				et, err := dec.Token()
				if err != nil {
					return jnode{}, errNotJSON
				}
				if d, ok := et.(json.Delim); ok && d == ']' {
					return n, nil
				}
				child, err := parseValue(dec, et, depth+1)
				if err != nil {
					return jnode{}, err
				}
				n.kids = append(n.kids, child)
			}
		}
	}
	return jnode{}, errNotJSON
}

// ---- validation ----

// pathRef is a member path built lazily: only rendered when an error is
// reported, so valid input allocates no path strings.
type pathRef struct {
	parent *pathRef
	name   string // member name, or "" for a list index
	index  int
}

func (p *pathRef) String() string {
	var parts []*pathRef
	for q := p; q != nil; q = q.parent {
		parts = append(parts, q)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		q := parts[i]
		if q.name == "" {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(q.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(q.name)
	}
	return b.String()
}

type validator struct {
	msgs []string
}

func (v *validator) add(path, constraint string) {
	v.msgs = append(v.msgs, "Value at '"+path+"' failed to satisfy constraint: "+constraint)
}

func (v *validator) error() *apierr.Error {
	noun := "errors"
	if len(v.msgs) == 1 {
		noun = "error"
	}
	return &apierr.Error{
		Kind:    apierr.BadRequest,
		Message: strconv.Itoa(len(v.msgs)) + " validation " + noun + " detected: " + strings.Join(v.msgs, "; "),
	}
}

// checkField validates member mem of the object obj (nil: absent parent,
// treated as {}): presence, duplicates, then the value.
func (v *validator) checkField(mem *Member, parent *pathRef, obj *jnode) {
	p := pathRef{parent: parent, name: mem.Name}
	var val *jnode
	if obj != nil {
		for i, k := range obj.keys {
			if k != mem.Name && !strings.EqualFold(k, mem.Name) {
				continue
			}
			if val != nil {
				v.add(p.String(), "Member must not appear more than once")
				return
			}
			val = &obj.kids[i]
		}
	}
	if val == nil || val.kind == jNull {
		if mem.Required {
			v.add(p.String(), "Member must not be null")
		}
		return
	}
	v.checkValue(mem, &p, val)
}

func (v *validator) checkValue(mem *Member, p *pathRef, val *jnode) {
	switch mem.Type {
	case "string":
		if val.kind != jString {
			v.add(p.String(), "Member must be a string")
			return
		}
		v.checkString(mem, *p, val.str)
	case "integer":
		if val.kind != jNumber {
			v.add(p.String(), "Member must be an integer")
			return
		}
		n, err := strconv.ParseInt(val.str, 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			v.add(p.String(), "Member must be an integer")
			return
		}
		v.checkInt(mem, *p, n, err)
	case "boolean":
		if val.kind != jBool {
			v.add(p.String(), "Member must be a boolean")
		}
	case "structure":
		if val.kind != jObject {
			v.add(p.String(), "Member must be a structure (JSON object)")
			return
		}
		for _, c := range mem.children {
			v.checkField(c, p, val)
		}
	case "list":
		if val.kind != jArray {
			v.add(p.String(), "Member must be a list (JSON array)")
			return
		}
		n := int64(len(val.kids))
		if mem.Min != nil && n < *mem.Min {
			v.add(p.String(), "Member must have length greater than or equal to "+strconv.FormatInt(*mem.Min, 10))
		}
		if mem.Max != nil && n > *mem.Max {
			v.add(p.String(), "Member must have length less than or equal to "+strconv.FormatInt(*mem.Max, 10))
			return // items are not checked one by one (bounded message)
		}
		for i := range val.kids {
			ep := pathRef{parent: p, index: i}
			el := &val.kids[i]
			if el.kind == jNull {
				v.add(ep.String(), "Member must not be null")
				continue
			}
			v.checkValue(mem.elem, &ep, el)
		}
	}
}

// checkInt applies integer bounds; perr is ParseInt's error (ErrRange for
// values beyond int64, reported as out of the model's range).
func (v *validator) checkInt(mem *Member, p pathRef, n int64, perr error) {
	if perr != nil {
		// Beyond int64: n is clamped to the sign's extreme.
		if n < 0 && mem.Min != nil {
			v.add(p.String(), "Member must have value greater than or equal to "+strconv.FormatInt(*mem.Min, 10))
		} else if n > 0 && mem.Max != nil {
			v.add(p.String(), "Member must have value less than or equal to "+strconv.FormatInt(*mem.Max, 10))
		} else {
			v.add(p.String(), "Member must be an integer within range")
		}
		return
	}
	if mem.Min != nil && n < *mem.Min {
		v.add(p.String(), "Member must have value greater than or equal to "+strconv.FormatInt(*mem.Min, 10))
	}
	if mem.Max != nil && n > *mem.Max {
		v.add(p.String(), "Member must have value less than or equal to "+strconv.FormatInt(*mem.Max, 10))
	}
}

func (v *validator) checkString(mem *Member, p pathRef, s string) {
	if mem.Min != nil || mem.Max != nil {
		n := int64(utf8.RuneCountInString(s))
		if mem.Min != nil && n < *mem.Min {
			v.add(p.String(), "Member must have length greater than or equal to "+strconv.FormatInt(*mem.Min, 10))
		}
		if mem.Max != nil && n > *mem.Max {
			v.add(p.String(), "Member must have length less than or equal to "+strconv.FormatInt(*mem.Max, 10))
		}
	}
	if mem.enumSet != nil {
		if _, ok := mem.enumSet[s]; !ok {
			v.add(p.String(), "Member must satisfy enum value set: ["+strings.Join(mem.Enum, ", ")+"]")
		}
	}
	if mem.match != nil && !mem.PatternExempt && !mem.match(s) {
		v.add(p.String(), "Member must satisfy regular expression pattern: "+mem.Pattern)
	}
	if mem.DocRulesExempt {
		return
	}
	if mem.docEnum != nil {
		if _, ok := mem.docEnum[s]; !ok {
			v.add(p.String(), "Member must satisfy enum value set: ["+strings.Join(mem.DocEnum, ", ")+"]")
		}
	}
	if mem.ReservedPrefix != "" && hasReservedPrefix(s) {
		v.add(p.String(), ErrExternalIDReserved.Error())
	}
	if mem.docMatch != nil && !mem.docMatch(s) {
		v.add(p.String(), "Member must satisfy regular expression pattern: "+mem.DocPattern)
	}
}
