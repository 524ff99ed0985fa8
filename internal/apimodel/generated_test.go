package apimodel

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// sampleByShape holds one valid value for each string shape that has a
// pattern. The generated test fails if a patterned shape has no sample, so
// a model update cannot silently shrink coverage.
var sampleByShape = map[string]string{
	"GuidString":                  mid,
	"ClientRequestToken":          "da2bf9a5-03af-4bd3-8b6c-4fb89fbfd075",
	"TenantId":                    "t1x",
	"AmazonResourceName":          "arn:aws:chime:us-east-1:123456789012:meeting/" + mid,
	"Arn":                         "arn:aws:sqs:us-east-1:123456789012:q",
	"TagKey":                      "k",
	"TagValue":                    "v",
	"TranscribePiiEntityTypes":    "NAME,EMAIL",
	"TranscribeLanguageModelName": "my-model",
	"TranscribeLanguageOptions":   "en-US,es-US",
	"TranscribeVocabularyNamesOrFilterNamesString": "vocab-1,vocab_2",
}

// input is one request's input: labels, query and a JSON body tree.
type input struct {
	labels map[string]string
	query  url.Values
	body   map[string]any
}

func (in *input) bodyBytes(t testing.TB) []byte {
	if in.body == nil {
		return nil
	}
	b, err := json.Marshal(in.body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func validString(t testing.TB, mem *Member) string {
	switch {
	case len(mem.Enum) > 0:
		return mem.Enum[0]
	case len(mem.DocEnum) > 0:
		return mem.DocEnum[0]
	}
	if s, ok := sampleByShape[mem.Shape]; ok {
		return s
	}
	if mem.Pattern != "" {
		t.Fatalf("%s: shape %s has a pattern but no sample in sampleByShape", mem.Path, mem.Shape)
	}
	n := int64(1)
	if mem.Min != nil && *mem.Min > n {
		n = *mem.Min
	}
	return strings.Repeat("a", int(n))
}

func validValue(t testing.TB, mem *Member) any {
	switch mem.Type {
	case "string":
		return validString(t, mem)
	case "integer":
		if mem.Min != nil {
			return *mem.Min
		}
		return int64(1)
	case "boolean":
		return true
	case "list":
		n := int64(1)
		if mem.Min != nil && *mem.Min > n {
			n = *mem.Min
		}
		l := make([]any, n)
		for i := range l {
			l[i] = validValue(t, mem.elem)
		}
		return l
	case "structure":
		obj := map[string]any{}
		for _, c := range mem.children {
			obj[c.Name] = validValue(t, c)
		}
		return obj
	}
	t.Fatalf("%s: unknown type %s", mem.Path, mem.Type)
	return nil
}

// baseInput sets every member, required or not, to a valid value.
func baseInput(t testing.TB, op *Operation) *input {
	in := &input{labels: map[string]string{}, query: url.Values{}}
	if op.HasBody {
		in.body = map[string]any{}
	}
	for _, mem := range op.top {
		v := validValue(t, mem)
		switch mem.Location {
		case "uri":
			in.labels[mem.LocationName] = v.(string)
		case "querystring":
			in.query.Set(mem.LocationName, fmt.Sprint(v))
		case "body":
			in.body[mem.Name] = v
		}
	}
	return in
}

// absent is the value that removes a member (or nulls a list element).
type absentT struct{}

var absent = absentT{}

// set replaces the member at model path mem.Path (list elements: the first
// one) with v, or removes it when v is absent.
func set(t testing.TB, in *input, mem *Member, v any) {
	switch mem.Location {
	case "uri":
		if v == absent {
			delete(in.labels, mem.LocationName)
		} else {
			in.labels[mem.LocationName] = v.(string)
		}
		return
	case "querystring":
		if v == absent {
			in.query.Del(mem.LocationName)
		} else {
			in.query.Set(mem.LocationName, fmt.Sprint(v))
		}
		return
	}
	// Body: walk "A[].B.C" through maps and lists.
	var tokens []string
	for _, part := range strings.Split(mem.Path, ".") {
		name := strings.TrimRight(part, "[]")
		tokens = append(tokens, name)
		for i := 0; i < strings.Count(part, "[]"); i++ {
			tokens = append(tokens, "[]")
		}
	}
	var cur any = in.body
	for i, tok := range tokens {
		last := i == len(tokens)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if v == absent {
					delete(c, tok)
				} else {
					c[tok] = v
				}
				return
			}
			cur = c[tok]
		case []any:
			if last {
				if v == absent {
					c[0] = nil // a null element
				} else {
					c[0] = v
				}
				return
			}
			cur = c[0]
		default:
			t.Fatalf("%s: cannot walk into %T", mem.Path, cur)
		}
	}
}

// msgPath is the path Validate reports: list elements are index 0.
func msgPath(mem *Member) string { return strings.ReplaceAll(mem.Path, "[]", "[0]") }

type violation struct {
	name string
	v    any
	// want is the constraint text that must follow the member's path; ""
	// means the input must pass (an exemption or a boundary value).
	want string
}

func violations(t testing.TB, mem *Member) []violation {
	var vs []violation
	if mem.Required {
		vs = append(vs, violation{"missing required", absent, "Member must not be null"})
		if mem.Location == "body" {
			vs = append(vs, violation{"null required", nil, "Member must not be null"})
		}
	} else {
		vs = append(vs, violation{"absent optional", absent, ""})
		if mem.Location == "body" {
			vs = append(vs, violation{"null optional (treated as absent)", nil, ""})
		}
	}
	if mem.Location == "body" {
		wrong := map[string][]any{
			"string":    {int64(12345), true, map[string]any{}, []any{"a"}},
			"integer":   {"12", true, 1.5, json.Number("1e2"), []any{}, map[string]any{}},
			"boolean":   {"true", int64(1), map[string]any{}},
			"list":      {map[string]any{}, "x", int64(1)},
			"structure": {[]any{}, "x", int64(1), false},
		}[mem.Type]
		for _, w := range wrong {
			vs = append(vs, violation{fmt.Sprintf("wrong JSON type %T(%v)", w, w), w, "Member must be a"})
		}
	}
	switch mem.Type {
	case "string":
		s := validString(t, mem)
		vs = append(vs, violation{"valid sample", s, ""})
		if mem.Location == "uri" {
			vs = append(vs, violation{"empty label", "", "Member must not be null"})
		}
		if mem.Min != nil && *mem.Min > 0 {
			short := string([]rune(s)[:*mem.Min-1])
			vs = append(vs, violation{"too short", short, "Member must have length greater than or equal to " + strconv.FormatInt(*mem.Min, 10)})
		}
		if mem.Max != nil {
			long := s + strings.Repeat("a", int(*mem.Max)+1-utf8.RuneCountInString(s))
			vs = append(vs, violation{"too long", long, "Member must have length less than or equal to " + strconv.FormatInt(*mem.Max, 10)})
		}
		if len(mem.Enum) > 0 {
			vs = append(vs, violation{"bad enum", "NotAnEnumValue", "Member must satisfy enum value set: [" + strings.Join(mem.Enum, ", ") + "]"})
			vs = append(vs, violation{"enum wrong case", strings.ToUpper(mem.Enum[0]) + "x", "Member must satisfy enum value set"})
		}
		if mem.Pattern != "" {
			want := "Member must satisfy regular expression pattern: " + mem.Pattern
			if mem.PatternExempt {
				want = "" // D8
			}
			// Prefix and suffix violations prove full-match anchoring (D2).
			vs = append(vs,
				violation{"pattern: bad prefix", "~" + s, want},
				violation{"pattern: bad suffix", s + "~\n", want},
			)
		}
		if mem.DocPattern != "" {
			want := "Member must satisfy regular expression pattern: " + mem.DocPattern
			if mem.DocRulesExempt {
				want = "" // D16
			}
			vs = append(vs, violation{"doc pattern", s + "~~", want}, violation{"doc pattern: control char", s + "\x00", want})
		}
		if mem.ReservedPrefix != "" {
			want := "Member must not begin with the reserved prefix 'aws:'"
			if mem.DocRulesExempt {
				want = "" // D16
			}
			for _, p := range []string{"aws:", "AWS:", "Aws:", "aWS:"} {
				vs = append(vs, violation{"reserved prefix " + p, p + "user", want})
			}
			vs = append(vs, violation{"prefix not at start", "x-aws:user", ""})
		}
		if len(mem.DocEnum) > 0 {
			vs = append(vs, violation{"doc enum", "xx-mars-1", "Member must satisfy enum value set: [" + strings.Join(mem.DocEnum, ", ") + "]"})
			for _, r := range mem.DocEnum {
				vs = append(vs, violation{"doc enum " + r, r, ""})
			}
		}
	case "integer":
		if mem.Location == "querystring" {
			for _, w := range []string{"abc", "1.5", "1e2", "", " 5", "0x10"} {
				vs = append(vs, violation{"non-integer " + strconv.Quote(w), w, "Member must be an integer"})
			}
		}
		if mem.Min != nil {
			vs = append(vs,
				violation{"below range", *mem.Min - 1, "Member must have value greater than or equal to " + strconv.FormatInt(*mem.Min, 10)},
				violation{"at min", *mem.Min, ""},
			)
		}
		if mem.Max != nil {
			vs = append(vs,
				violation{"above range", *mem.Max + 1, "Member must have value less than or equal to " + strconv.FormatInt(*mem.Max, 10)},
				violation{"at max", *mem.Max, ""},
				violation{"beyond int64", json.Number("99999999999999999999"), "Member must have value less than or equal to " + strconv.FormatInt(*mem.Max, 10)},
			)
		}
	case "list":
		el := validValue(t, mem.elem)
		if mem.Min != nil {
			want := ""
			if *mem.Min > 0 {
				want = "Member must have length greater than or equal to " + strconv.FormatInt(*mem.Min, 10)
			}
			vs = append(vs, violation{"too few items", repeat(el, int(max(*mem.Min-1, 0))), want})
		}
		if mem.Max != nil {
			vs = append(vs,
				violation{"too many items", repeat(el, int(*mem.Max)+1), "Member must have length less than or equal to " + strconv.FormatInt(*mem.Max, 10)},
				violation{"max items", repeat(el, int(*mem.Max)), ""},
			)
		}
	}
	return vs
}

func repeat(v any, n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = v
	}
	return l
}

// TestGeneratedViolations is generated from the loaded model: for every
// operation and every member it builds an otherwise-valid input, injects
// one violation per constraint, and asserts a 400 naming that member path
// with that constraint (or a pass for boundaries and D8/D16 exemptions).
func TestGeneratedViolations(t *testing.T) {
	m := MustLoad()
	checked := 0
	for _, op := range m.Operations() {
		base := baseInput(t, op)
		if err := op.Validate(base.labels, base.query, base.bodyBytes(t)); err != nil {
			t.Errorf("%s: the all-valid base input fails: %v", op.Name, err)
			continue
		}
		for _, mem := range op.Members {
			for _, vi := range violations(t, mem) {
				in := baseInput(t, op)
				set(t, in, mem, vi.v)
				body := in.bodyBytes(t)
				err := apiError(op.Validate(in.labels, in.query, body))
				checked++
				name := op.Name + " " + mem.Path + ": " + vi.name
				if vi.want == "" {
					if err != nil {
						t.Errorf("%s: want pass, got %v", name, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("%s: want 400 %q, got nil (body %s)", name, vi.want, body)
					continue
				}
				if err.Kind != apierr.BadRequest || err.Kind.Status() != 400 {
					t.Errorf("%s: kind %v, want BadRequest", name, err.Kind)
				}
				want := "Value at '" + msgPath(mem) + "' failed to satisfy constraint: " + vi.want
				if !strings.Contains(err.Message, want) {
					t.Errorf("%s: message %q does not contain %q", name, err.Message, want)
				}
				if !strings.Contains(err.Message, "validation error") {
					t.Errorf("%s: message %q is not in AWS validation style", name, err.Message)
				}
				// Never echo member values.
				if s, ok := vi.v.(string); ok && len(s) >= 5 && strings.Contains(err.Message, s) {
					t.Errorf("%s: message echoes the value: %q", name, err.Message)
				}
			}
		}
	}
	if checked < 500 {
		t.Errorf("only %d generated cases: the generator lost coverage", checked)
	}
	t.Logf("%d generated cases", checked)
}
