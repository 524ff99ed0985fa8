// Package apimodel routes requests and validates their input using the
// Amazon Chime SDK Meetings service model (chime-sdk-meetings 2021-07-15).
//
// Nothing here is a hand-copied constant of the model: the route table and
// every validation rule are built at Load time by interpreting
// api-constraints.json, which is embedded into the binary.
//
// Provenance of api-constraints.json: a byte-for-byte copy of
// /work/shared/models/api-constraints.json (sha256
// 9794abf4b1fa921e598aec248af669739d8576c217bbce874a0e424ce95ed284), the
// machine-readable digest generated from the botocore 1.43.11 model
// chime-sdk-meetings-2021-07-15/service-2.json (format:
// docs/api-reference.md §7). It was cross-checked member by member against
// service-2.json when copied. To update it, regenerate the digest from a new
// service-2.json and copy it here; Load fails loudly on anything it does not
// understand (unknown keys, patterns Go cannot compile, label mismatches).
//
// The rules the model documents only in prose (D2: the ExternalUserId /
// ExternalMeetingId pattern, the reserved "aws:" prefix, the MediaRegion
// list) live in docrules.go, attached to shapes by shape name.
package apimodel

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

//go:embed api-constraints.json
var constraintsJSON []byte

// Model is the loaded service model. It is immutable after Load and safe
// for concurrent use.
type Model struct {
	ops    []*Operation
	byName map[string]*Operation
	// literalKeys are the query keys used by some operation's literal
	// ("operation"). An operation without a literal for a key matches only
	// when that key is absent from the query.
	literalKeys []string
}

// Operation is one operation of the model with its HTTP binding and its
// input constraints.
type Operation struct {
	Name         string   // e.g. "BatchUpdateAttendeeCapabilitiesExcept"
	Method       string   // "PUT"
	PathTemplate string   // "/meetings/{MeetingId}/attendees/capabilities"
	QueryLiteral string   // "operation=batch-update-except" or ""
	ResponseCode int      // modeled success status
	Errors       []string // exception names the model lists for the operation
	HasBody      bool     // true when any input member is in the body

	// Members lists every input member of the model (top level, nested
	// structure members, list elements "X[]"), flattened in model order.
	Members []*Member

	top      []*Member // top-level members, model order
	segments []segment // PathTemplate split on "/"
	litKey   string    // query literal key ("operation") or ""
	litValue string    // query literal value ("batch-update-except")
}

// Member is one input member and its constraints, as the model states them
// plus the documentation-only rules (D2) and deliberate exemptions (D8, D16).
type Member struct {
	// Path in the model's notation: "Capabilities.Audio",
	// "ExcludedAttendeeIds[]", "ExcludedAttendeeIds[].AttendeeId".
	// Error messages use the same notation with indices:
	// "ExcludedAttendeeIds[3].AttendeeId".
	Path string
	// Name is the JSON key (or label/query member name) of the member;
	// empty for a list element.
	Name string
	// Location is "uri", "querystring" or "body".
	Location string
	// LocationName is the URI label or query key ("max-results"); equal to
	// Name for body members.
	LocationName string
	// Required: required at top level, or within its present parent. List
	// elements are always required (a null element is an error).
	Required bool
	// Type is the model type: "string", "integer", "boolean", "list" or
	// "structure".
	Type  string
	Shape string
	// Min and Max are length (string, in Unicode code points), item count
	// (list) or value (integer) bounds; nil when the model sets none.
	Min, Max *int64
	// Pattern is the model's regular expression, verbatim. It is enforced
	// as a full match (D2).
	Pattern          string
	Enum             []string
	Sensitive        bool
	IdempotencyToken bool
	// ListMember is the element shape of a list.
	ListMember string

	// Documentation-only rules (D2), from docrules.go by shape name.
	DocPattern     string   // full-match pattern stated only in the docs
	ReservedPrefix string   // case-insensitive reserved prefix ("aws:")
	DocEnum        []string // documented value list (MediaRegion)

	// PatternExempt: the model pattern is deliberately not enforced (D8).
	PatternExempt bool
	// DocRulesExempt: the documentation-only rules are deliberately left to
	// the domain layer, which reports them per item (D16).
	DocRulesExempt bool

	children []*Member // structure members, model order
	elem     *Member   // list element
	match    func(string) bool
	docMatch func(string) bool
	enumSet  map[string]struct{}
	docEnum  map[string]struct{}
}

type segment struct {
	literal string
	label   string // non-empty for "{Label}"
}

// rawMember is one member entry of api-constraints.json (docs/wire.md, "The
// constraints digest"). Unknown keys
// make Load fail, so a new kind of constraint cannot be silently ignored.
type rawMember struct {
	Location         string   `json:"location"`
	LocationName     string   `json:"locationName"`
	Required         bool     `json:"required"`
	Type             string   `json:"type"`
	Shape            string   `json:"shape"`
	Min              *int64   `json:"min"`
	Max              *int64   `json:"max"`
	Pattern          *string  `json:"pattern"`
	Enum             []string `json:"enum"`
	Sensitive        bool     `json:"sensitive"`
	IdempotencyToken bool     `json:"idempotencyToken"`
	Member           string   `json:"member"`
}

type rawHTTP struct {
	Method       string  `json:"method"`
	RequestURI   string  `json:"requestUri"`
	Path         string  `json:"path"`
	QueryLiteral *string `json:"queryLiteral"`
	ResponseCode int     `json:"responseCode"`
}

// Load parses the embedded model. Callers construct the Model once and pass
// it around; there is no package-level state.
func Load() (*Model, error) { return load(constraintsJSON) }

// MustLoad is Load for tests and program initialisation; it panics on error.
func MustLoad() *Model {
	m, err := Load()
	if err != nil {
		panic(err)
	}
	return m
}

func load(data []byte) (*Model, error) {
	top, order, err := orderedObject(data)
	if err != nil {
		return nil, fmt.Errorf("apimodel: api-constraints.json: %w", err)
	}
	m := &Model{byName: map[string]*Operation{}}
	for _, name := range order {
		if strings.HasPrefix(name, "$") {
			continue
		}
		op, err := loadOperation(name, top[name])
		if err != nil {
			return nil, fmt.Errorf("apimodel: operation %s: %w", name, err)
		}
		m.ops = append(m.ops, op)
		m.byName[name] = op
		if op.litKey != "" && !contains(m.literalKeys, op.litKey) {
			m.literalKeys = append(m.literalKeys, op.litKey)
		}
	}
	if len(m.ops) == 0 {
		return nil, fmt.Errorf("apimodel: api-constraints.json lists no operations")
	}
	if err := m.checkRoutes(); err != nil {
		return nil, err
	}
	return m, nil
}

func loadOperation(name string, data json.RawMessage) (*Operation, error) {
	obj, order, err := orderedObject(data)
	if err != nil {
		return nil, err
	}
	var h rawHTTP
	if err := strictUnmarshal(obj["$http"], &h); err != nil {
		return nil, fmt.Errorf("$http: %w", err)
	}
	op := &Operation{
		Name:         name,
		Method:       h.Method,
		PathTemplate: h.Path,
		ResponseCode: h.ResponseCode,
	}
	if h.Method == "" || h.Path == "" || h.ResponseCode == 0 {
		return nil, fmt.Errorf("$http: method, path and responseCode are required")
	}
	if err := json.Unmarshal(obj["$errors"], &op.Errors); err != nil {
		return nil, fmt.Errorf("$errors: %w", err)
	}
	if h.QueryLiteral != nil && *h.QueryLiteral != "" {
		op.QueryLiteral = *h.QueryLiteral
		q, err := url.ParseQuery(op.QueryLiteral)
		if err != nil || len(q) != 1 {
			return nil, fmt.Errorf("query literal %q: want exactly one key=value", op.QueryLiteral)
		}
		for k, v := range q {
			if len(v) != 1 || v[0] == "" {
				return nil, fmt.Errorf("query literal %q: want exactly one key=value", op.QueryLiteral)
			}
			op.litKey, op.litValue = k, v[0]
		}
	}
	want := op.PathTemplate
	if op.QueryLiteral != "" {
		want += "?" + op.QueryLiteral
	}
	if h.RequestURI != want {
		return nil, fmt.Errorf("requestUri %q does not agree with path %q and queryLiteral %q", h.RequestURI, op.PathTemplate, op.QueryLiteral)
	}
	if op.segments, err = parseTemplate(op.PathTemplate); err != nil {
		return nil, err
	}

	byPath := map[string]*Member{}
	for _, path := range order {
		if strings.HasPrefix(path, "$") {
			continue
		}
		var rm rawMember
		if err := strictUnmarshal(obj[path], &rm); err != nil {
			return nil, fmt.Errorf("member %s: %w", path, err)
		}
		mem, err := newMember(name, path, &rm)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", path, err)
		}
		if err := attach(op, byPath, mem); err != nil {
			return nil, fmt.Errorf("member %s: %w", path, err)
		}
		byPath[path] = mem
		op.Members = append(op.Members, mem)
		if mem.Location == "body" {
			op.HasBody = true
		}
	}
	for _, mem := range op.Members {
		if mem.Type == "list" && mem.elem == nil {
			return nil, fmt.Errorf("list member %s has no element entry %s[]", mem.Path, mem.Path)
		}
		if len(mem.children) > 64 {
			return nil, fmt.Errorf("structure %s has more than 64 members", mem.Path)
		}
	}
	// Every URI label of the template is bound to exactly one uri member.
	labels := map[string]bool{}
	for _, s := range op.segments {
		if s.label != "" {
			if labels[s.label] {
				return nil, fmt.Errorf("label {%s} appears twice in %s", s.label, op.PathTemplate)
			}
			labels[s.label] = true
		}
	}
	for _, mem := range op.top {
		switch mem.Location {
		case "uri":
			if !labels[mem.LocationName] {
				return nil, fmt.Errorf("uri member %s names label {%s} absent from %s", mem.Path, mem.LocationName, op.PathTemplate)
			}
			if mem.Type != "string" {
				return nil, fmt.Errorf("uri member %s has unsupported type %s", mem.Path, mem.Type)
			}
			delete(labels, mem.LocationName)
		case "querystring":
			if mem.Type != "string" && mem.Type != "integer" {
				return nil, fmt.Errorf("query member %s has unsupported type %s", mem.Path, mem.Type)
			}
			if op.litKey != "" && mem.LocationName == op.litKey {
				return nil, fmt.Errorf("query member %s collides with the query literal", mem.Path)
			}
		}
	}
	for l := range labels {
		return nil, fmt.Errorf("label {%s} of %s has no uri member", l, op.PathTemplate)
	}
	return op, nil
}

func newMember(opName, path string, rm *rawMember) (*Member, error) {
	mem := &Member{
		Path:             path,
		Location:         rm.Location,
		LocationName:     rm.LocationName,
		Required:         rm.Required,
		Type:             rm.Type,
		Shape:            rm.Shape,
		Min:              rm.Min,
		Max:              rm.Max,
		Enum:             rm.Enum,
		Sensitive:        rm.Sensitive,
		IdempotencyToken: rm.IdempotencyToken,
		ListMember:       rm.Member,
	}
	if rm.Pattern != nil {
		mem.Pattern = *rm.Pattern
	}
	switch {
	case strings.HasSuffix(path, "[]"):
		mem.Name = ""
	case strings.Contains(path, "."):
		mem.Name = path[strings.LastIndex(path, ".")+1:]
	default:
		mem.Name = path
	}
	if mem.Name != "" && strings.ContainsAny(mem.Name, "[]") {
		return nil, fmt.Errorf("malformed path")
	}
	switch mem.Location {
	case "uri", "querystring":
		if mem.LocationName == "" {
			return nil, fmt.Errorf("%s member without locationName", mem.Location)
		}
	case "body":
		if mem.LocationName != "" && mem.LocationName != mem.Name {
			// restJson1 renames body members with jsonName, not
			// locationName; refuse rather than guess.
			return nil, fmt.Errorf("body member with locationName %q is not supported", mem.LocationName)
		}
		mem.LocationName = mem.Name
	case "header":
		return nil, fmt.Errorf("header-bound input members are not supported")
	default:
		return nil, fmt.Errorf("unknown location %q", mem.Location)
	}
	switch mem.Type {
	case "string":
	case "integer", "list":
		if mem.Pattern != "" || mem.Enum != nil {
			return nil, fmt.Errorf("pattern/enum on a %s", mem.Type)
		}
	case "boolean", "structure":
		if mem.Pattern != "" || mem.Enum != nil || mem.Min != nil || mem.Max != nil {
			return nil, fmt.Errorf("constraints on a %s", mem.Type)
		}
	default:
		return nil, fmt.Errorf("unsupported type %q", mem.Type)
	}
	if mem.Type == "list" && mem.ListMember == "" {
		return nil, fmt.Errorf("list without member shape")
	}
	if mem.Min != nil && mem.Max != nil && *mem.Min > *mem.Max {
		return nil, fmt.Errorf("min %d > max %d", *mem.Min, *mem.Max)
	}
	if len(mem.Enum) > 0 {
		mem.enumSet = make(map[string]struct{}, len(mem.Enum))
		for _, v := range mem.Enum {
			mem.enumSet[v] = struct{}{}
		}
	}
	if mem.Pattern != "" {
		match, err := compilePattern(mem.Shape, mem.Pattern)
		if err != nil {
			return nil, err
		}
		mem.match = match
	}
	applyDocRules(opName, mem)
	return mem, nil
}

// attach links mem to its parent (already loaded: the digest lists parents
// before children) or to the operation's top level.
func attach(op *Operation, byPath map[string]*Member, mem *Member) error {
	path := mem.Path
	if strings.HasSuffix(path, "[]") {
		parent := byPath[strings.TrimSuffix(path, "[]")]
		if parent == nil || parent.Type != "list" {
			return fmt.Errorf("list element without a list parent")
		}
		if parent.ListMember != mem.Shape {
			return fmt.Errorf("element shape %s, list says %s", mem.Shape, parent.ListMember)
		}
		if parent.elem != nil {
			return fmt.Errorf("duplicate list element")
		}
		if mem.Location != "body" {
			return fmt.Errorf("list element outside the body")
		}
		if !mem.Required {
			// D2: a null element is never acceptable; the digest marks
			// elements required, insist on it.
			return fmt.Errorf("list element not marked required")
		}
		parent.elem = mem
		return nil
	}
	i := strings.LastIndex(path, ".")
	if i < 0 {
		op.top = append(op.top, mem)
		return nil
	}
	parent := byPath[path[:i]]
	if parent == nil || parent.Type != "structure" {
		return fmt.Errorf("nested member without a structure parent")
	}
	if mem.Location != "body" {
		return fmt.Errorf("nested member outside the body")
	}
	for _, c := range parent.children {
		if strings.EqualFold(c.Name, mem.Name) {
			return fmt.Errorf("members %s and %s differ only in case", c.Path, mem.Path)
		}
	}
	parent.children = append(parent.children, mem)
	return nil
}

func parseTemplate(tpl string) ([]segment, error) {
	if !strings.HasPrefix(tpl, "/") {
		return nil, fmt.Errorf("path template %q does not start with /", tpl)
	}
	var segs []segment
	for _, s := range strings.Split(tpl[1:], "/") {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			l := s[1 : len(s)-1]
			if l == "" || strings.ContainsAny(l, "{}+") {
				// Greedy labels ({X+}) do not occur in this model.
				return nil, fmt.Errorf("unsupported label %q in %q", s, tpl)
			}
			segs = append(segs, segment{label: l})
		case strings.ContainsAny(s, "{}"):
			return nil, fmt.Errorf("unsupported segment %q in %q", s, tpl)
		default:
			segs = append(segs, segment{literal: s})
		}
	}
	return segs, nil
}

// checkRoutes refuses a model in which two operations could match the same
// request (same method, same template shape, same literal).
func (m *Model) checkRoutes() error {
	for i, a := range m.ops {
		for _, b := range m.ops[i+1:] {
			if a.Method != b.Method || a.QueryLiteral != b.QueryLiteral || len(a.segments) != len(b.segments) {
				continue
			}
			same := true
			for k := range a.segments {
				sa, sb := a.segments[k], b.segments[k]
				if sa.label == "" && sb.label == "" && sa.literal != sb.literal {
					same = false
					break
				}
			}
			if same {
				return fmt.Errorf("apimodel: operations %s and %s have ambiguous routes", a.Name, b.Name)
			}
		}
	}
	return nil
}

// Operations returns the operations in model order.
func (m *Model) Operations() []*Operation {
	return append([]*Operation(nil), m.ops...)
}

// Operation returns the named operation, or nil.
func (m *Model) Operation(name string) *Operation { return m.byName[name] }

// Member returns the input member with the given model path
// ("Capabilities.Audio", "TenantIds[]"), or nil.
func (op *Operation) Member(path string) *Member {
	for _, mem := range op.Members {
		if mem.Path == path {
			return mem
		}
	}
	return nil
}

// orderedObject decodes a JSON object into its members and their order.
func orderedObject(data []byte) (map[string]json.RawMessage, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("want a JSON object")
	}
	obj := map[string]json.RawMessage{}
	var order []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := obj[key]; dup {
			return nil, nil, fmt.Errorf("duplicate key %q", key)
		}
		obj[key] = v
		order = append(order, key)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	return obj, order, nil
}

func strictUnmarshal(data []byte, v any) error {
	if data == nil {
		return fmt.Errorf("missing")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// compileFullMatch compiles a model pattern with full-match semantics (D2):
// anchored at both ends even when the model's regex is not. Java regex
// classes that differ from RE2 are translated first (see javaToRE2).
func compileFullMatch(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + javaToRE2(pattern) + `)$`)
}
