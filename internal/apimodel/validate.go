package apimodel

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/ids"
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
func (op *Operation) Validate(labels map[string]string, query url.Values, body []byte) error {
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
	kind   jkind
	str    string   // string value or number literal
	fields []jfield // object members, in order
	elems  []jnode  // array elements
}

type jfield struct {
	key string
	val jnode
}

type decodeError string

func (e decodeError) Error() string { return string(e) }

const (
	errNotJSON   = decodeError("The request body is not valid JSON")
	errNotObject = decodeError("The request body must be a JSON object")
	errTooDeep   = decodeError("The request body is nested too deeply")
)

// parseBody decodes a request body into a jnode tree. json.Valid (the same
// scanner json.Unmarshal uses, allocation-free) decides what is JSON, so
// validation and the handlers' decoder never disagree on syntax; the small
// parser below then only has to build the tree. Strings with escapes or
// non-ASCII bytes are unquoted by encoding/json itself for identical
// results (invalid UTF-8 becomes U+FFFD, surrogate pairs are joined).
func parseBody(body []byte) (*jnode, error) {
	if !json.Valid(body) {
		return nil, errNotJSON
	}
	p := parser{b: body}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, errNotObject
	}
	root, err := p.value(1)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, errNotJSON // unreachable after json.Valid
	}
	return &root, nil
}

type parser struct {
	b []byte
	i int
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (jnode, error) {
	p.ws()
	if p.i >= len(p.b) {
		return jnode{}, errNotJSON
	}
	switch c := p.b[p.i]; c {
	case '{':
		if depth > maxDepth {
			return jnode{}, errTooDeep
		}
		p.i++
		n := jnode{kind: jObject}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return n, nil
		}
		for {
			p.ws()
			key, err := p.string()
			if err != nil {
				return jnode{}, err
			}
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return jnode{}, errNotJSON
			}
			p.i++
			child, err := p.value(depth + 1)
			if err != nil {
				return jnode{}, err
			}
			n.fields = append(n.fields, jfield{key, child})
			p.ws()
			if p.i >= len(p.b) {
				return jnode{}, errNotJSON
			}
			if p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.b[p.i] == '}' {
				p.i++
				return n, nil
			}
			return jnode{}, errNotJSON
		}
	case '[':
		if depth > maxDepth {
			return jnode{}, errTooDeep
		}
		p.i++
		n := jnode{kind: jArray}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return n, nil
		}
		for {
			child, err := p.value(depth + 1)
			if err != nil {
				return jnode{}, err
			}
			n.elems = append(n.elems, child)
			p.ws()
			if p.i >= len(p.b) {
				return jnode{}, errNotJSON
			}
			if p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.b[p.i] == ']' {
				p.i++
				return n, nil
			}
			return jnode{}, errNotJSON
		}
	case '"':
		s, err := p.string()
		return jnode{kind: jString, str: s}, err
	case 't':
		return p.literal("true", jnode{kind: jBool, str: "true"})
	case 'f':
		return p.literal("false", jnode{kind: jBool, str: "false"})
	case 'n':
		return p.literal("null", jnode{kind: jNull})
	default:
		if c != '-' && (c < '0' || c > '9') {
			return jnode{}, errNotJSON
		}
		start := p.i
		for p.i < len(p.b) {
			c := p.b[p.i]
			if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
				p.i++
				continue
			}
			break
		}
		return jnode{kind: jNumber, str: string(p.b[start:p.i])}, nil
	}
}

func (p *parser) literal(word string, n jnode) (jnode, error) {
	if !bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		return jnode{}, errNotJSON
	}
	p.i += len(word)
	return n, nil
}

// string reads a JSON string at p.i.
func (p *parser) string() (string, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", errNotJSON
	}
	start := p.i
	simple := true
	for j := p.i + 1; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '\\':
			simple = false
			j++ // skip the escaped byte (a quote or backslash included)
		case c == '"':
			p.i = j + 1
			if simple {
				return string(p.b[start+1 : j]), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return "", errNotJSON
			}
			return s, nil
		case c >= utf8.RuneSelf:
			simple = false
		}
	}
	return "", errNotJSON
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
		for i := range obj.fields {
			f := &obj.fields[i]
			if f.key != mem.Name && !strings.EqualFold(f.key, mem.Name) {
				continue
			}
			if val != nil {
				v.add(p.String(), "Member must not appear more than once")
				return
			}
			val = &f.val
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
		n := int64(len(val.elems))
		if mem.Min != nil && n < *mem.Min {
			v.add(p.String(), "Member must have length greater than or equal to "+strconv.FormatInt(*mem.Min, 10))
		}
		if mem.Max != nil && n > *mem.Max {
			v.add(p.String(), "Member must have length less than or equal to "+strconv.FormatInt(*mem.Max, 10))
			return // items are not checked one by one (bounded message)
		}
		for i := range val.elems {
			ep := pathRef{parent: p, index: i}
			el := &val.elems[i]
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
	if mem.ReservedPrefix != "" && ids.HasReservedPrefix(s) {
		v.add(p.String(), ids.ErrExternalIDReserved.Error())
	}
	if mem.docMatch != nil && !mem.docMatch(s) {
		v.add(p.String(), "Member must satisfy regular expression pattern: "+mem.DocPattern)
	}
}
