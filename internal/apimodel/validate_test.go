package apimodel

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/ids"
)

func validate(t *testing.T, m *Model, opName string, labels map[string]string, query url.Values, body string) error {
	t.Helper()
	op := m.Operation(opName)
	if op == nil {
		t.Fatalf("no operation %s", opName)
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return op.Validate(labels, query, b)
}

// apiError returns err as the *apierr.Error it must be (nil for nil).
func apiError(err error) *apierr.Error {
	if err == nil {
		return nil
	}
	e, ok := apierr.As(err)
	if !ok {
		return &apierr.Error{Message: "not an *apierr.Error: " + err.Error()}
	}
	return e
}

// wantErr asserts a 400 whose message contains every fragment (or nil when
// none is given).
func wantErr(t *testing.T, name string, verr error, fragments ...string) {
	err := apiError(verr)
	t.Helper()
	if len(fragments) == 0 {
		if err != nil {
			t.Errorf("%s: want pass, got %v", name, err)
		}
		return
	}
	if err == nil {
		t.Errorf("%s: want 400 with %q, got nil", name, fragments)
		return
	}
	if err.Kind != apierr.BadRequest {
		t.Errorf("%s: kind %s, want BadRequestException", name, err.Kind.Code())
	}
	for _, f := range fragments {
		if !strings.Contains(err.Message, f) {
			t.Errorf("%s: message %q lacks %q", name, err.Message, f)
		}
	}
}

var meetingLabels = map[string]string{"MeetingId": mid}

const caps = `"Capabilities":{"Audio":"SendReceive","Video":"Receive","Content":"None"}`

// TestExcludedAttendeeIdsD8: exclusion entries are not pattern-checked
// (D8: the JS demo sends [{"AttendeeId": ""}]), but required and the
// string type still apply, and so do the list bounds.
func TestExcludedAttendeeIdsD8(t *testing.T) {
	m := MustLoad()
	op := "BatchUpdateAttendeeCapabilitiesExcept"
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"empty string entry", `{"ExcludedAttendeeIds":[{"AttendeeId":""}],` + caps + `}`, nil},
		{"non-GUID entry", `{"ExcludedAttendeeIds":[{"AttendeeId":"not-a-guid"}],` + caps + `}`, nil},
		{"duplicates", `{"ExcludedAttendeeIds":[{"AttendeeId":"` + aid + `"},{"AttendeeId":"` + aid + `"}],` + caps + `}`, nil},
		{"missing AttendeeId", `{"ExcludedAttendeeIds":[{"AttendeeId":"x"},{"AttendeeID2":"x"}],` + caps + `}`,
			[]string{"Value at 'ExcludedAttendeeIds[1].AttendeeId' failed to satisfy constraint: Member must not be null"}},
		{"null AttendeeId", `{"ExcludedAttendeeIds":[{"AttendeeId":null}],` + caps + `}`,
			[]string{"'ExcludedAttendeeIds[0].AttendeeId' failed to satisfy constraint: Member must not be null"}},
		{"number AttendeeId", `{"ExcludedAttendeeIds":[{"AttendeeId":1}],` + caps + `}`,
			[]string{"'ExcludedAttendeeIds[0].AttendeeId' failed to satisfy constraint: Member must be a string"}},
		{"empty list", `{"ExcludedAttendeeIds":[],` + caps + `}`,
			[]string{"'ExcludedAttendeeIds' failed to satisfy constraint: Member must have length greater than or equal to 1"}},
		{"missing capabilities member", `{"ExcludedAttendeeIds":[{"AttendeeId":""}],"Capabilities":{"Audio":"None","Video":"None"}}`,
			[]string{"1 validation error detected: Value at 'Capabilities.Content' failed to satisfy constraint: Member must not be null"}},
	} {
		wantErr(t, tc.name, validate(t, m, op, meetingLabels, nil, tc.body), tc.want...)
	}
	// The exemption is exactly one member of the whole model.
	n := 0
	for _, o := range m.Operations() {
		for _, mem := range o.Members {
			if mem.PatternExempt {
				n++
				if o.Name != op || mem.Path != "ExcludedAttendeeIds[].AttendeeId" {
					t.Errorf("unexpected pattern exemption %s %s", o.Name, mem.Path)
				}
			}
		}
	}
	if n != 1 {
		t.Errorf("%d pattern exemptions, want 1 (D8)", n)
	}
	// The same shape elsewhere is still checked (D3).
	wantErr(t, "UpdateAttendeeCapabilities AttendeeId",
		validate(t, m, "UpdateAttendeeCapabilities", map[string]string{"MeetingId": mid, "AttendeeId": "x"}, nil, `{`+caps+`}`),
		"'AttendeeId' failed to satisfy constraint: Member must satisfy regular expression pattern")
}

// TestBatchExternalUserIdD16: in batch creations only the documentation
// rules are left to the domain (per-item Errors); everything else about
// the item, and every other ExternalUserId-shaped member, is validated.
func TestBatchExternalUserIdD16(t *testing.T) {
	m := MustLoad()
	const meeting = `"ClientRequestToken":"tok-12345","MediaRegion":"us-east-1","ExternalMeetingId":"ext-1"`
	for _, tc := range []struct {
		name, op, body string
		want           []string
	}{
		{"batch reserved prefix", "BatchCreateAttendee", `{"Attendees":[{"ExternalUserId":"aws:user"},{"ExternalUserId":"ok-user"}]}`, nil},
		{"batch doc pattern", "BatchCreateAttendee", `{"Attendees":[{"ExternalUserId":"bad~user"}]}`, nil},
		{"batch too short still 400", "BatchCreateAttendee", `{"Attendees":[{"ExternalUserId":"ok"},{"ExternalUserId":"x"}]}`,
			[]string{"'Attendees[1].ExternalUserId' failed to satisfy constraint: Member must have length greater than or equal to 2"}},
		{"batch missing still 400", "BatchCreateAttendee", `{"Attendees":[{"Capabilities":null}]}`,
			[]string{"'Attendees[0].ExternalUserId' failed to satisfy constraint: Member must not be null"}},
		{"batch bad capability still 400", "BatchCreateAttendee", `{"Attendees":[{"ExternalUserId":"aws:x","Capabilities":{"Audio":"Loud","Video":"None","Content":"None"}}]}`,
			[]string{"'Attendees[0].Capabilities.Audio' failed to satisfy constraint: Member must satisfy enum value set"}},
		{"create-with-attendees item prefix", "CreateMeetingWithAttendees", `{` + meeting + `,"Attendees":[{"ExternalUserId":"AWS:user"}]}`, nil},
		{"create-with-attendees meeting id prefix", "CreateMeetingWithAttendees", `{"ClientRequestToken":"tok-12345","MediaRegion":"us-east-1","ExternalMeetingId":"aWs:ext","Attendees":[{"ExternalUserId":"u1"}]}`,
			[]string{"'ExternalMeetingId' failed to satisfy constraint: Member must not begin with the reserved prefix 'aws:'"}},
		{"MeetingHostId uses ExternalUserId rules", "CreateMeetingWithAttendees", `{` + meeting + `,"MeetingHostId":"aws:host","Attendees":[{"ExternalUserId":"u1"}]}`,
			[]string{"'MeetingHostId' failed to satisfy constraint: Member must not begin with the reserved prefix 'aws:'"}},
		{"MeetingHostId doc pattern", "CreateMeeting", `{` + meeting + `,"MeetingHostId":"host<1>"}`,
			[]string{"'MeetingHostId' failed to satisfy constraint: Member must satisfy regular expression pattern: " + ids.ExternalIDPattern}},
		{"CreateAttendee is not exempt", "CreateAttendee", `{"ExternalUserId":"aws:user"}`,
			[]string{"'ExternalUserId' failed to satisfy constraint: Member must not begin with the reserved prefix 'aws:'"}},
		{"CreateAttendee doc pattern", "CreateAttendee", `{"ExternalUserId":"user~1"}`,
			[]string{"'ExternalUserId' failed to satisfy constraint: Member must satisfy regular expression pattern"}},
		{"CreateMeeting MediaRegion list", "CreateMeeting", `{"ClientRequestToken":"tok-12345","MediaRegion":"us-east-9","ExternalMeetingId":"ext-1"}`,
			[]string{"'MediaRegion' failed to satisfy constraint: Member must satisfy enum value set: [af-south-1,", "us-gov-west-1]"}},
		{"CreateMeeting GovCloud region", "CreateMeeting", `{"ClientRequestToken":"tok-12345","MediaRegion":"us-gov-east-1","ExternalMeetingId":"ext-1"}`, nil},
	} {
		labels := meetingLabels
		if strings.HasPrefix(tc.op, "CreateMeeting") {
			labels = nil
		}
		wantErr(t, tc.name, validate(t, m, tc.op, labels, nil, tc.body), tc.want...)
	}
}

// The domain's check of external ids (package ids) agrees with the
// translation of the documented Java pattern that Validate uses.
func TestExternalIDPatternAgrees(t *testing.T) {
	re := regexp.MustCompile(`^(?:` + javaToRE2(ids.ExternalIDPattern) + `)$`)
	for _, s := range []string{
		"user-1", "José Ñúñez", "a_b&c@d+e=f,g(h)i{j}k[l]m/n«o»p.q:r|s'\"#", "tab\tnewline\nvt\x0b\f\r",
		"", "user~1", "emoji 🙂", "ā", "nul\x00", "a\u2028b", "<script>", "\xff", "a\x85b", "\u00a0",
	} {
		if got, want := ids.MatchExternalID(s), re.MatchString(s); got != want {
			t.Errorf("ids.MatchExternalID(%q) = %v, the translated pattern says %v", s, got, want)
		}
	}
}

func TestMediaRegions(t *testing.T) {
	r := MediaRegions()
	if len(r) != 20 {
		t.Fatalf("%d regions, want 18 + 2 GovCloud", len(r))
	}
	gov := 0
	seen := map[string]bool{}
	for _, x := range r {
		if seen[x] {
			t.Errorf("duplicate %s", x)
		}
		seen[x] = true
		if strings.HasPrefix(x, "us-gov-") {
			gov++
		}
	}
	if gov != 2 || !seen["us-east-1"] || !seen["af-south-1"] {
		t.Errorf("unexpected list %v", r)
	}
	r[0] = "mutated"
	if MediaRegions()[0] == "mutated" {
		t.Error("MediaRegions returns shared state")
	}
}

// TestTenantID pins the meaning of ^(?!.*?(.)\1{3})[-_!@#$a-zA-Z0-9]*$,
// which Go's regexp cannot compile: the character set, and no character
// repeated 4 or more times in a row.
func TestTenantID(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", true}, {"t1x", true}, {"aaa", true}, {"aaab", true}, {"baaa", true},
		{"aaaa", false}, {"baaaa", false}, {"aaaab", false}, {"xaaaax", false},
		{"aAaA", true}, {"AAAA", false}, {"1111", false}, {"$$$$", false}, {"----", false},
		{"aaabbbccc", true}, {"a-b_c!d@e#f$g", true}, {"-_!@#$", true},
		{"a b", false}, {"a%b", false}, {"a.b", false}, {"é", false}, {"ab\n", false},
		{"tenant\x00", false}, {"aaa\naaa", false},
		{strings.Repeat("abc", 80), true}, {strings.Repeat("abc", 80) + "cccc", false},
	} {
		if got := matchTenantID(tc.in); got != tc.ok {
			t.Errorf("matchTenantID(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
	// And through Validate, with the model's length bounds.
	m := MustLoad()
	const meeting = `"ClientRequestToken":"tok-12345","MediaRegion":"us-east-1","ExternalMeetingId":"ext-1"`
	wantErr(t, "TenantIds ok", validate(t, m, "CreateMeeting", nil, nil, `{`+meeting+`,"TenantIds":["t1x","aaab"]}`))
	wantErr(t, "TenantIds repeat", validate(t, m, "CreateMeeting", nil, nil, `{`+meeting+`,"TenantIds":["t1x","zzzz"]}`),
		`'TenantIds[1]' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(?!.*?(.)\1{3})[-_!@#$a-zA-Z0-9]*$`)
	wantErr(t, "TenantIds short", validate(t, m, "CreateMeeting", nil, nil, `{`+meeting+`,"TenantIds":["t"]}`),
		"'TenantIds[0]' failed to satisfy constraint: Member must have length greater than or equal to 2")
	wantErr(t, "TenantIds empty", validate(t, m, "CreateMeeting", nil, nil, `{`+meeting+`,"TenantIds":[]}`),
		"'TenantIds' failed to satisfy constraint: Member must have length greater than or equal to 1")
}

// TestBodyDecoding covers D5 and the JSON rules documented in validate.go.
func TestBodyDecoding(t *testing.T) {
	m := MustLoad()
	const okBody = `{"ExternalUserId":"user-1"}`
	deep := strings.Repeat(`{"x":`, 200) + "1" + strings.Repeat("}", 200)
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"valid", okBody, nil},
		{"malformed", `{"ExternalUserId":`, []string{"The request body is not valid JSON"}},
		{"bad escape", `{"ExternalUserId":"\q"}`, []string{"not valid JSON"}},
		{"trailing garbage", okBody + `x`, []string{"not valid JSON"}},
		{"second value", okBody + ` {}`, []string{"not valid JSON"}},
		{"trailing whitespace ok", okBody + " \n\t", nil},
		{"array body", `[` + okBody + `]`, []string{"must be a JSON object"}},
		{"string body", `"x"`, []string{"must be a JSON object"}},
		{"null body", `null`, []string{"must be a JSON object"}},
		{"whitespace body", ` `, []string{"not valid JSON"}},
		{"empty object", `{}`, []string{"1 validation error detected: Value at 'ExternalUserId' failed to satisfy constraint: Member must not be null"}},
		{"unknown members ignored", `{"ExternalUserId":"user-1","Future":{"a":[1,{"b":null}]},"X":1e400}`, nil},
		{"unknown deep nesting ok", `{"ExternalUserId":"user-1","Future":` + strings.Repeat(`[`, 50) + strings.Repeat(`]`, 50) + `}`, nil},
		{"nesting limit", `{"ExternalUserId":"user-1","Future":` + deep + `}`, []string{"nested too deeply"}},
		{"duplicate key", `{"ExternalUserId":"user-1","ExternalUserId":"aws:x"}`,
			[]string{"'ExternalUserId' failed to satisfy constraint: Member must not appear more than once"}},
		{"case-folded duplicate", `{"ExternalUserId":"user-1","externalUserId":"aws:x"}`,
			[]string{"'ExternalUserId' failed to satisfy constraint: Member must not appear more than once"}},
		// encoding/json binds keys case-insensitively; so does validation.
		{"case-folded key validated", `{"externaluserid":"aws:x"}`,
			[]string{"'ExternalUserId' failed to satisfy constraint: Member must not begin with the reserved prefix"}},
		{"case-folded key satisfies required", `{"EXTERNALUSERID":"user-1"}`, nil},
		{"nested case-folded duplicate", `{"ExternalUserId":"user-1","Capabilities":{"Audio":"None","Video":"None","Content":"None","audio":"Bad"}}`,
			[]string{"'Capabilities.Audio' failed to satisfy constraint: Member must not appear more than once"}},
		{"nested case-folded value", `{"ExternalUserId":"user-1","capabilities":{"AUDIO":"Loud","video":"None","Content":"None"}}`,
			[]string{"1 validation error detected: Value at 'Capabilities.Audio' failed to satisfy constraint: Member must satisfy enum value set"}},
		{"null optional", `{"ExternalUserId":"user-1","Capabilities":null}`, nil},
		{"invalid UTF-8 in a string", "{\"ExternalUserId\":\"us\xffer\"}", []string{"'ExternalUserId' failed to satisfy constraint: Member must satisfy regular expression pattern"}},
	} {
		wantErr(t, tc.name, validate(t, m, "CreateAttendee", meetingLabels, nil, tc.body), tc.want...)
	}
	// Operations without body members ignore the body entirely.
	for _, op := range []string{"GetMeeting", "DeleteMeeting", "StopMeetingTranscription"} {
		wantErr(t, op+" ignores body", validate(t, m, op, meetingLabels, nil, `not json at all`))
	}
	// An empty body is {} (then required members fail).
	wantErr(t, "empty body", m.Operation("UpdateAttendeeCapabilities").Validate(map[string]string{"MeetingId": mid, "AttendeeId": aid}, nil, nil),
		"1 validation error detected: Value at 'Capabilities' failed to satisfy constraint: Member must not be null")
	wantErr(t, "empty body all optional", m.Operation("BatchUpdateAttendeeCapabilitiesExcept").Validate(meetingLabels, nil, []byte{}),
		"2 validation errors detected: Value at 'ExcludedAttendeeIds' failed to satisfy constraint: Member must not be null; Value at 'Capabilities' failed to satisfy constraint: Member must not be null")
}

// TestKeyFoldingMatchesEncodingJSON: a key encoding/json binds to a member
// (here "\u212Aey", KELVIN SIGN + "ey", binds to Key) is validated as that
// member, so it cannot carry an unchecked value to the handlers.
func TestKeyFoldingMatchesEncodingJSON(t *testing.T) {
	body := `{"ResourceARN":"arn:aws:chime:us-east-1:1:meeting/x","Tags":[{"\u212Aey":"bad!key","Value":"v"}]}`
	var decoded struct {
		Tags []struct{ Key, Value string }
	}
	if err := json.Unmarshal([]byte(body), &decoded); err != nil || decoded.Tags[0].Key != "bad!key" {
		t.Fatalf("premise: encoding/json no longer binds the folded key (%v, %+v); revisit checkField", err, decoded)
	}
	wantErr(t, "kelvin key", validate(t, MustLoad(), "TagResource", nil, nil, body),
		"1 validation error detected: Value at 'Tags[0].Key' failed to satisfy constraint: Member must satisfy regular expression pattern")
}

func TestIntegers(t *testing.T) {
	m := MustLoad()
	const meeting = `"ClientRequestToken":"tok-12345","MediaRegion":"us-east-1","ExternalMeetingId":"ext-1"`
	body := func(n string) string {
		return `{` + meeting + `,"MeetingFeatures":{"Attendee":{"MaxCount":` + n + `}}}`
	}
	for _, tc := range []struct {
		n    string
		want string
	}{
		{"1", ""}, {"250", ""}, {"-0", "greater than or equal to 1"},
		{"0", "greater than or equal to 1"}, {"251", "less than or equal to 250"},
		{"1.0", "Member must be an integer"}, {"1e2", "Member must be an integer"}, {"2.5", "Member must be an integer"},
		{"-99999999999999999999", "greater than or equal to 1"}, {"99999999999999999999", "less than or equal to 250"},
		{`"25"`, "Member must be an integer"}, {"true", "Member must be an integer"},
	} {
		var want []string
		if tc.want != "" {
			want = []string{"'MeetingFeatures.Attendee.MaxCount' failed to satisfy constraint: Member must", tc.want}
		}
		wantErr(t, "MaxCount "+tc.n, validate(t, m, "CreateMeeting", nil, nil, body(tc.n)), want...)
	}
	// Query integers: every occurrence is checked.
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"max-results=100", ""}, {"max-results=1&next-token=x", ""}, {"max-results=%2B5", ""}, {"max-results=+5", "Member must be an integer"},
		{"max-results=101", "less than or equal to 100"}, {"max-results=0", "greater than or equal to 1"},
		{"max-results=ten", "Member must be an integer"}, {"max-results=5&max-results=500", "less than or equal to 100"},
		{"next-token=" + strings.Repeat("t", 4096), ""}, {"next-token=" + strings.Repeat("t", 4097), "'NextToken' failed to satisfy constraint: Member must have length less than or equal to 4096"},
	} {
		q, _ := url.ParseQuery(tc.q)
		var want []string
		if tc.want != "" {
			want = []string{tc.want}
		}
		wantErr(t, "ListAttendees "+tc.q[:min(len(tc.q), 30)], validate(t, m, "ListAttendees", meetingLabels, q, ""), want...)
	}
}

// TestCodePoints: string lengths count Unicode code points, not bytes.
func TestCodePoints(t *testing.T) {
	m := MustLoad()
	for _, tc := range []struct {
		id   string
		want []string
	}{
		{strings.Repeat("é", 64), nil}, // 128 bytes, 64 code points
		{strings.Repeat("é", 65), []string{"Member must have length less than or equal to 64"}},
		{"éé", nil},
		{"é", []string{"Member must have length greater than or equal to 2"}},
	} {
		wantErr(t, "ExternalUserId len", validate(t, m, "CreateAttendee", meetingLabels, nil, `{"ExternalUserId":"`+tc.id+`"}`), tc.want...)
	}
}

// TestMessages pins the wording and ordering of messages: model member
// order, whatever the key order on the wire (Go sends keys alphabetically,
// JS in schema order, boto3 in the caller's order).
func TestMessages(t *testing.T) {
	m := MustLoad()
	labels := map[string]string{"MeetingId": "nope"}
	a := apiError(validate(t, m, "BatchUpdateAttendeeCapabilitiesExcept", labels, nil,
		`{"Capabilities":{"Content":"x","Audio":"y","Video":"None"},"ExcludedAttendeeIds":[{"AttendeeId":""},{}]}`))
	b := apiError(validate(t, m, "BatchUpdateAttendeeCapabilitiesExcept", labels, nil,
		`{"ExcludedAttendeeIds":[{"AttendeeId":""},{}],"Capabilities":{"Audio":"y","Video":"None","Content":"x"}}`))
	want := "4 validation errors detected: " +
		"Value at 'MeetingId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}; " +
		"Value at 'ExcludedAttendeeIds[1].AttendeeId' failed to satisfy constraint: Member must not be null; " +
		"Value at 'Capabilities.Audio' failed to satisfy constraint: Member must satisfy enum value set: [SendReceive, Send, Receive, None]; " +
		"Value at 'Capabilities.Content' failed to satisfy constraint: Member must satisfy enum value set: [SendReceive, Send, Receive, None]"
	if a == nil || a.Message != want {
		t.Errorf("message:\n got %v\nwant %s", a, want)
	}
	if b == nil || a == nil || a.Message != b.Message {
		t.Errorf("key order changed the message:\n%v\n%v", a, b)
	}
	// Sensitive values never appear.
	secret := "aws:SECRET-VALUE-123"
	err := apiError(validate(t, m, "CreateMeeting", nil, nil, `{"ClientRequestToken":"`+secret+`","MediaRegion":"`+secret+`","ExternalMeetingId":"`+secret+`","MeetingHostId":"`+secret+`","NotificationsConfiguration":{"SqsQueueArn":"`+secret+`"}}`))
	if err == nil || strings.Contains(err.Message, "SECRET") {
		t.Errorf("message echoes values or passes: %v", err)
	}
}

// TestJavaPatternSemantics: model regexes are Java regexes; \s includes
// \x0B and "." excludes all Java line terminators.
func TestJavaPatternSemantics(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`[\s\w+-=\.:/@]*`, `[[:space:]\w+-=\.:/@]*`},
		{`\s+`, `[[:space:]]+`},
		{`^arn:.*`, `^arn:[^\n\r\x{85}\x{2028}\x{2029}]*`},
		{`[.]\.`, `[.]\.`},
		{`[]s.]`, `[]s.]`},
		{`[^.]\\s`, `[^.]\\s`},
	} {
		if got := javaToRE2(tc.in); got != tc.want {
			t.Errorf("javaToRE2(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	m := MustLoad()
	tag := `{"ResourceARN":"arn:aws:chime:us-east-1:1:meeting/x","Tags":[{"Key":"k","Value":"%s"}]}`
	wantErr(t, "TagValue \\x0B", validate(t, m, "TagResource", nil, nil, strings.Replace(tag, "%s", `a\u000bb`, 1)))
	wantErr(t, "TagValue range +-= includes digits", validate(t, m, "TagResource", nil, nil, strings.Replace(tag, "%s", `0;<`, 1)))
	wantErr(t, "TagValue !", validate(t, m, "TagResource", nil, nil, strings.Replace(tag, "%s", `a!`, 1)),
		"'Tags[0].Value' failed to satisfy constraint: Member must satisfy regular expression pattern")
	for _, arn := range []string{`arn:x\r`, `arn:x\u2028`, `arn:\n`, `xarn:`} {
		wantErr(t, "ARN "+arn, validate(t, m, "UntagResource", nil, nil, `{"ResourceARN":"`+arn+`","TagKeys":[]}`),
			"'ResourceARN' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:.*")
	}
	wantErr(t, "ARN query", validate(t, m, "ListTagsForResource", nil, url.Values{"arn": {"not-an-arn"}}, ""),
		"'ResourceARN' failed to satisfy constraint: Member must satisfy regular expression pattern")
	wantErr(t, "GUID must be whole", validate(t, m, "GetMeeting", map[string]string{"MeetingId": mid + mid}, nil, ""),
		"'MeetingId' failed to satisfy constraint: Member must satisfy regular expression pattern")
	wantErr(t, "GUID upper case ok", validate(t, m, "GetMeeting", map[string]string{"MeetingId": strings.ToUpper(mid)}, nil, ""))
}

// TestLoadFailsLoudly: anything the interpreter does not understand makes
// Load fail instead of silently weakening validation.
func TestLoadFailsLoudly(t *testing.T) {
	guid := `"pattern": "[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}"`
	if !bytes.Contains(constraintsJSON, []byte(guid)) {
		t.Fatal("fixture pattern not found; update the test")
	}
	for _, tc := range []struct{ name, old, new string }{
		{"lookahead on another shape", guid, `"pattern": "^(?!x)[a-z]*$"`},
		{"backreference", guid, `"pattern": "(.)\\1"`},
		{"unknown constraint key", guid, guid + `, "jsonName": "x"`},
		{"unknown type", `"type": "boolean"`, `"type": "float"`},
		{"header location", `"location": "querystring"`, `"location": "header"`},
		{"label without member", `"requestUri": "/meetings/{MeetingId}",
   "path": "/meetings/{MeetingId}",`, `"requestUri": "/meetings/{MeetingId}/{Other}",
   "path": "/meetings/{MeetingId}/{Other}",`},
		{"greedy label", `"requestUri": "/meetings/{MeetingId}",
   "path": "/meetings/{MeetingId}",`, `"requestUri": "/meetings/{MeetingId+}",
   "path": "/meetings/{MeetingId+}",`},
		{"TenantId pattern changed", `(.)\\1{3}`, `(.)\\1{4}`},
		{"duplicate route", `"requestUri": "/tags?operation=untag-resource",
   "path": "/tags",
   "queryLiteral": "operation=untag-resource",`, `"requestUri": "/tags?operation=tag-resource",
   "path": "/tags",
   "queryLiteral": "operation=tag-resource",`},
		{"bad requestUri", `"requestUri": "/tags"`, `"requestUri": "/tagz"`},
	} {
		// Every occurrence: output shapes ($output) repeat some patterns.
		data := bytes.ReplaceAll(constraintsJSON, []byte(tc.old), []byte(tc.new))
		if bytes.Equal(data, constraintsJSON) {
			t.Errorf("%s: replacement did not apply", tc.name)
			continue
		}
		if _, err := load(data); err == nil {
			t.Errorf("%s: load succeeded, want an error", tc.name)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
	// The real model loads, and TenantId's special handling is bound to
	// its exact pattern text.
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	mem := m.Operation("CreateMeeting").Member("TenantIds[]")
	if mem == nil || mem.Pattern != tenantIDPattern || mem.match == nil {
		t.Fatalf("TenantIds[] = %+v", mem)
	}
}

// TestOperationMetadata checks the surface other packages rely on.
func TestOperationMetadata(t *testing.T) {
	m := MustLoad()
	for _, op := range m.Operations() {
		if op.Errors[0] == "" || !contains(op.Errors, "BadRequestException") {
			t.Errorf("%s: Errors %v", op.Name, op.Errors)
		}
		if m.Operation(op.Name) != op {
			t.Errorf("%s: lookup by name", op.Name)
		}
	}
	for name, want := range map[string]struct {
		code    int
		hasBody bool
	}{
		"DeleteMeeting": {204, false}, "TagResource": {204, true}, "StopMeetingTranscription": {200, false},
		"CreateAttendee": {200, true}, "ListAttendees": {200, false},
	} {
		op := m.Operation(name)
		if op.ResponseCode != want.code || op.HasBody != want.hasBody {
			t.Errorf("%s: code %d body %v, want %d %v", name, op.ResponseCode, op.HasBody, want.code, want.hasBody)
		}
	}
	if m.Operation("ListMeetings") != nil {
		t.Error("unknown operation found")
	}
	ops := m.Operations()
	ops[0] = nil
	if m.Operations()[0] == nil {
		t.Error("Operations exposes internal state")
	}
}
