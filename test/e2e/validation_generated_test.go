package e2e

// One test per constrained member, generated from the service model
// (internal/apimodel, the digest of service-2.json): for every operation and
// every input member, each constraint the model (or D2's documentation-only
// rules) puts on it is violated in an otherwise-valid raw signed request,
// and the answer must be 400 BadRequestException naming that member path,
// never 5xx, with nothing changed (D2, D5).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"

	"github.com/carillon-dev/carillon/internal/apimodel"
)

// valTarget is the meeting (and its attendee and ARN) that path labels and
// ARNs point at: a request that wrongly passed validation would change it.
type valTarget struct{ mid, aid, arn string }

// valAbsent removes a member; nil (JSON null) is a different violation.
type valAbsentT struct{}

var valAbsent = valAbsentT{}

// valFiller is text that satisfies every string pattern of the model that
// allows letters and digits and never repeats a character 4 times (TenantId).
const valFiller = "abcdefghijklmnopqrstuvwxyz0123456789"

func valFill(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(valFiller)
	}
	return b.String()[:n]
}

func valToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "val-" + hex.EncodeToString(b)
}

// valString is a valid value for a string member of the target.
func valString(t *testing.T, tg valTarget, mem *apimodel.Member) string {
	t.Helper()
	switch mem.Path {
	case "MeetingId":
		return tg.mid
	case "AttendeeId", "ExcludedAttendeeIds[].AttendeeId":
		return tg.aid
	case "ResourceARN":
		return tg.arn
	}
	switch mem.Shape {
	case "ClientRequestToken":
		return valToken()
	case "ExternalUserId":
		return "zz-new-user"
	case "ExternalMeetingId":
		return "val-meeting"
	case "MediaRegion":
		return "us-east-1"
	case "TenantId":
		return "t1x"
	case "Arn":
		return "arn:aws:sqs:us-east-1:123456789012:q"
	case "TagKey":
		return "newkey"
	case "TagValue":
		return "v"
	case "TranscribePiiEntityTypes":
		return "NAME,EMAIL"
	case "TranscribeLanguageModelName":
		return "my-model"
	case "TranscribeLanguageOptions":
		return "en-US,es-US"
	case "TranscribeVocabularyNamesOrFilterNamesString":
		return "vocab-1,vocab_2"
	}
	if len(mem.Enum) > 0 {
		return mem.Enum[0]
	}
	if mem.Pattern != "" {
		t.Fatalf("%s: shape %s has a pattern %q but no valid sample here: add one", mem.Path, mem.Shape, mem.Pattern)
	}
	n := int64(2)
	if mem.Min != nil && *mem.Min > n {
		n = *mem.Min
	}
	return valFill(int(n))
}

// valChildren returns the direct children of a structure or list member.
func valChildren(op *apimodel.Operation, mem *apimodel.Member) []*apimodel.Member {
	var out []*apimodel.Member
	for _, c := range op.Members {
		rest, ok := strings.CutPrefix(c.Path, mem.Path)
		if !ok || rest == "" {
			continue
		}
		if mem.Type == "list" && rest == "[]" {
			out = append(out, c)
		}
		if mem.Type == "structure" && strings.HasPrefix(rest, ".") && !strings.ContainsAny(rest[1:], ".[") {
			out = append(out, c)
		}
	}
	return out
}

// valValue is a minimal valid value: structures hold their required members,
// lists one element.
func valValue(t *testing.T, tg valTarget, op *apimodel.Operation, mem *apimodel.Member) any {
	switch mem.Type {
	case "string":
		return valString(t, tg, mem)
	case "integer":
		if mem.Min != nil {
			return *mem.Min
		}
		return int64(1)
	case "boolean":
		return true
	case "list":
		return []any{valValue(t, tg, op, valChildren(op, mem)[0])}
	case "structure":
		obj := map[string]any{}
		for _, c := range valChildren(op, mem) {
			if c.Required {
				obj[c.Name] = valValue(t, tg, op, c)
			}
		}
		return obj
	}
	t.Fatalf("%s: unknown type %s", mem.Path, mem.Type)
	return nil
}

// valRequest is one raw request of an operation.
type valRequest struct {
	labels map[string]string
	query  url.Values
	body   map[string]any
}

// valBase is the otherwise-valid request: every required member, plus the
// few values the business rules need (D22: an engine; D21: keys the target
// has or not).
func valBase(t *testing.T, tg valTarget, op *apimodel.Operation) *valRequest {
	r := &valRequest{labels: map[string]string{}, query: url.Values{}}
	if op.HasBody {
		r.body = map[string]any{}
	}
	for _, mem := range op.Members {
		if strings.ContainsAny(mem.Path, ".[") || !mem.Required {
			continue
		}
		v := valValue(t, tg, op, mem)
		switch mem.Location {
		case "uri":
			r.labels[mem.LocationName] = v.(string)
		case "querystring":
			r.query.Set(mem.LocationName, fmt.Sprint(v))
		case "body":
			r.body[mem.Name] = v
		}
	}
	switch op.Name {
	case "StartMeetingTranscription":
		r.body["TranscriptionConfiguration"] = map[string]any{"EngineTranscribeSettings": map[string]any{"LanguageCode": "en-US"}}
	case "UntagResource":
		r.body["TagKeys"] = []any{"orig"}
	}
	return r
}

// set puts v (or valAbsent) at mem's path, creating minimal valid ancestors.
func (r *valRequest) set(t *testing.T, tg valTarget, op *apimodel.Operation, mem *apimodel.Member, v any) {
	switch mem.Location {
	case "uri":
		if v == valAbsent {
			v = ""
		}
		r.labels[mem.LocationName] = v.(string)
		return
	case "querystring":
		if v == valAbsent {
			r.query.Del(mem.LocationName)
		} else {
			r.query.Set(mem.LocationName, fmt.Sprint(v))
		}
		return
	}
	// Split "A[].B.C" into member paths "A", "A[]", "A[].B", "A[].B.C".
	var prefixes []string
	cur := ""
	for _, part := range strings.Split(mem.Path, ".") {
		name := strings.TrimSuffix(part, "[]")
		if cur != "" {
			cur += "."
		}
		cur += name
		prefixes = append(prefixes, cur)
		if strings.HasSuffix(part, "[]") {
			cur += "[]"
			prefixes = append(prefixes, cur)
		}
	}
	var container any = r.body
	for i, p := range prefixes {
		pm := op.Member(p)
		if pm == nil {
			t.Fatalf("%s: no member %s in the model", mem.Path, p)
		}
		last := i == len(prefixes)-1
		switch c := container.(type) {
		case map[string]any:
			if last {
				if v == valAbsent {
					delete(c, pm.Name)
				} else {
					c[pm.Name] = v
				}
				return
			}
			if _, ok := c[pm.Name]; !ok {
				c[pm.Name] = valValue(t, tg, op, pm)
			}
			container = c[pm.Name]
		case []any:
			if last {
				if v == valAbsent {
					v = nil
				}
				c[0] = v
				return
			}
			container = c[0]
		default:
			t.Fatalf("%s: cannot walk into %T at %s", mem.Path, container, p)
		}
	}
}

func (r *valRequest) pathAndQuery(op *apimodel.Operation) string {
	p := op.PathTemplate
	for k, v := range r.labels {
		p = strings.ReplaceAll(p, "{"+k+"}", url.PathEscape(v))
	}
	q := op.QueryLiteral
	if enc := r.query.Encode(); enc != "" {
		if q != "" {
			q += "&"
		}
		q += enc
	}
	if q != "" {
		p += "?" + q
	}
	return p
}

func (r *valRequest) send(t *testing.T, s *server, op *apimodel.Operation) rawResponse {
	t.Helper()
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			t.Fatal(err)
		}
		body = b
	}
	return s.do(t, op.Method, r.pathAndQuery(op), body)
}

// valViolation is one broken constraint.
type valViolation struct {
	name string
	v    any
}

// valViolations lists every constraint of mem that must give 400 (D8 and
// D16 exemptions are left out: they are business rules tested elsewhere).
func valViolations(t *testing.T, tg valTarget, op *apimodel.Operation, mem *apimodel.Member) []valViolation {
	var vs []valViolation
	if mem.Required {
		vs = append(vs, valViolation{"required/absent", valAbsent})
		if mem.Location == "body" {
			vs = append(vs, valViolation{"required/null", nil})
		}
	}
	if mem.Location == "body" {
		wrong := map[string]any{"string": int64(12345), "integer": "12", "boolean": "true", "list": map[string]any{}, "structure": []any{}}[mem.Type]
		vs = append(vs, valViolation{fmt.Sprintf("type/%T", wrong), wrong})
		if mem.Type == "integer" {
			vs = append(vs, valViolation{"type/fraction", 1.5})
		}
	}
	switch mem.Type {
	case "string":
		s := valString(t, tg, mem)
		if mem.Min != nil && *mem.Min > 0 {
			vs = append(vs, valViolation{fmt.Sprintf("length/min%d", *mem.Min), valFill(int(*mem.Min) - 1)})
		}
		if mem.Max != nil {
			long := s + valFill(int(*mem.Max)+1-len([]rune(s)))
			if mem.Shape == "ClientRequestToken" || mem.Shape == "TenantId" {
				long = valFill(int(*mem.Max) + 1)
			}
			vs = append(vs, valViolation{fmt.Sprintf("length/max%d", *mem.Max), long})
		}
		if len(mem.Enum) > 0 {
			vs = append(vs, valViolation{"enum", "NotAnEnumValue"}, valViolation{"enum/case", strings.ToLower(mem.Enum[0]) + "X"})
		}
		if mem.Pattern != "" && !mem.PatternExempt {
			vs = append(vs, valViolation{"pattern/prefix", "~" + s})
			// A suffix proves full-match anchoring (D2), unless the pattern
			// itself allows any suffix (AmazonResourceName: ^arn:.*).
			if re, err := regexp.Compile(`^(?:` + strings.TrimSuffix(strings.TrimPrefix(mem.Pattern, "^"), "$") + `)$`); err != nil || !re.MatchString(s+"~") {
				vs = append(vs, valViolation{"pattern/suffix", s + "~"})
			}
		}
		if mem.DocPattern != "" && !mem.DocRulesExempt {
			vs = append(vs, valViolation{"docpattern", s + "~~"})
		}
		if mem.ReservedPrefix != "" && !mem.DocRulesExempt {
			vs = append(vs, valViolation{"reserved-prefix", "aws:user"}, valViolation{"reserved-prefix/upper", "AWS:user"})
		}
		if len(mem.DocEnum) > 0 {
			vs = append(vs, valViolation{"docenum", "xx-mars-1"})
		}
	case "integer":
		if mem.Location == "querystring" {
			vs = append(vs, valViolation{"type/not-an-integer", "abc"})
		}
		if mem.Min != nil {
			vs = append(vs, valViolation{fmt.Sprintf("range/min%d", *mem.Min), *mem.Min - 1})
		}
		if mem.Max != nil {
			vs = append(vs, valViolation{fmt.Sprintf("range/max%d", *mem.Max), *mem.Max + 1})
		}
	case "list":
		el := valValue(t, tg, op, valChildren(op, mem)[0])
		if mem.Min != nil && *mem.Min > 0 {
			vs = append(vs, valViolation{fmt.Sprintf("items/min%d", *mem.Min), make([]any, *mem.Min-1)})
		}
		if mem.Max != nil {
			l := make([]any, *mem.Max+1)
			for i := range l {
				l[i] = el
			}
			vs = append(vs, valViolation{fmt.Sprintf("items/max%d", *mem.Max), l})
		}
	}
	return vs
}

// valState is everything observable about the target meeting.
type valState struct {
	Meeting   *types.Meeting
	Attendees []attendeeState
	Tags      map[string]string
}

func valSnapshot(t *testing.T, c *chimesdkmeetings.Client, tg valTarget) valState {
	t.Helper()
	m, err := c.GetMeeting(context.Background(), &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(tg.mid)})
	if err != nil {
		t.Fatalf("target meeting: %v", err)
	}
	return valState{m.Meeting, snapshot(t, c, tg.mid), opsTags(t, c, tg.arn)}
}

func valNewTarget(t *testing.T, c *chimesdkmeetings.Client, ext string) valTarget {
	t.Helper()
	m := opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String(ext),
		Tags: []types.Tag{{Key: aws.String("orig"), Value: aws.String("1")}}})
	a := opsAttendee(t, c, aws.ToString(m.MeetingId), "existing")
	return valTarget{aws.ToString(m.MeetingId), aws.ToString(a.AttendeeId), aws.ToString(m.MeetingArn)}
}

// TestValidationGenerated is generated from apimodel: subtests are named
// <Operation>/<member path>/<constraint>.
func TestValidationGenerated(t *testing.T) {
	t.Parallel()
	model, err := apimodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	ops := model.Operations()
	// Deleting operations go last in the control run.
	rank := map[string]int{"DeleteAttendee": 1, "DeleteMeeting": 2}
	sort.SliceStable(ops, func(i, j int) bool { return rank[ops[i].Name] < rank[ops[j].Name] })
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		c := s.client(t)

		// Control: every operation's base request succeeds on a meeting of
		// its own, so each violation below is the only thing wrong.
		control := valNewTarget(t, c, "val-control")
		for _, op := range ops {
			r := valBase(t, control, op).send(t, s, op)
			if r.Status/100 != 2 {
				t.Fatalf("control: the base request of %s fails: %d %s", op.Name, r.Status, r.Body)
			}
		}

		tg := valNewTarget(t, c, "val-target")
		before := valSnapshot(t, c, tg)
		cases := 0
		for _, op := range ops {
			t.Run(op.Name, func(t *testing.T) {
				for _, mem := range op.Members {
					for _, vi := range valViolations(t, tg, op, mem) {
						cases++
						t.Run(mem.Path+"/"+vi.name, func(t *testing.T) {
							req := valBase(t, tg, op)
							req.set(t, tg, op, mem, vi.v)
							r := req.send(t, s, op)
							if r.Status >= 500 {
								t.Fatalf("5xx: %d %s", r.Status, r.Body)
							}
							wantRawError(t, r, 400, "BadRequestException", "'"+strings.ReplaceAll(mem.Path, "[]", "[0]")+"'")
							// Creations: had the rejected request created a
							// meeting under its token, the same token with
							// the base parameters would now be a 409 (D14).
							if tok, ok := req.body["ClientRequestToken"].(string); ok && mem.Shape != "ClientRequestToken" {
								again := valBase(t, tg, op)
								again.body["ClientRequestToken"] = tok
								if r2 := again.send(t, s, op); r2.Status != 200 {
									t.Errorf("the rejected request left its ClientRequestToken used: base request with it got %d %s", r2.Status, r2.Body)
								}
							}
						})
					}
				}
			})
		}
		if cases < 150 {
			t.Errorf("only %d generated cases: the generator lost coverage", cases)
		}
		t.Logf("%d generated violation cases", cases)
		if after := valSnapshot(t, c, tg); !reflect.DeepEqual(before, after) {
			t.Errorf("rejected requests changed the target meeting:\nbefore %+v\nafter  %+v", before, after)
		}
	})
}
