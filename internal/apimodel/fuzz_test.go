package apimodel

import (
	"encoding/json"
	"io"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// FuzzValidate: Validate never panics, only ever answers nil or a 400 with
// a message, is deterministic, and never passes a body the handlers could
// not decode. The seed corpus (run by plain `go test`) holds a valid body
// of every operation plus broken variants.
func FuzzValidate(f *testing.F) {
	m := MustLoad()
	ops := m.Operations()
	for i, op := range ops {
		in := baseInput(f, op)
		var l1, l2 string
		if v, ok := in.labels["MeetingId"]; ok {
			l1 = v
		}
		if v, ok := in.labels["AttendeeId"]; ok {
			l2 = v
		}
		body := in.bodyBytes(f)
		q := in.query.Encode()
		f.Add(uint8(i), body, l1, l2, q)
		f.Add(uint8(i), []byte(nil), l1, l2, q)
		if len(body) > 2 {
			f.Add(uint8(i), body[:len(body)/2], "", "x", "max-results=0")
			f.Add(uint8(i), []byte(strings.ReplaceAll(string(body), `"`, `'`)), l1, l2, q)
			f.Add(uint8(i), append(append([]byte{}, body...), '}'), l1, l2, q)
			f.Add(uint8(i), []byte(strings.ToLower(string(body))), l1, l2, q)
		}
	}
	f.Add(uint8(1), []byte(`{"ExcludedAttendeeIds":[{"AttendeeId":""}],"Capabilities":{"Audio":"None","Video":"None","Content":"None"},"capabilities":null}`), mid, "", "")
	f.Add(uint8(3), []byte(`{"MeetingFeatures":{"Attendee":{"MaxCount":1e999}},"TenantIds":[null,1,"aaaa"]}`), "", "", "")
	f.Add(uint8(9), []byte(nil), mid, "", "max-results=99999999999999999999&next-token=%ff")
	f.Add(uint8(0), []byte(strings.Repeat("[", 100)), "", "", "")

	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte, l1, l2, rawQuery string) {
		op := ops[int(opIndex)%len(ops)]
		labels := map[string]string{}
		for _, s := range op.segments {
			switch {
			case s.label == "":
			case len(labels) == 0:
				labels[s.label] = l1
			default:
				labels[s.label] = l2
			}
		}
		query, _ := url.ParseQuery(rawQuery)
		err := apiError(op.Validate(labels, query, body))
		again := apiError(op.Validate(labels, query, body))
		if (err == nil) != (again == nil) || (err != nil && err.Message != again.Message) {
			t.Fatalf("not deterministic: %v / %v", err, again)
		}
		if err != nil {
			if err.Kind != apierr.BadRequest || err.Message == "" {
				t.Fatalf("unexpected error %#v", err)
			}
			return
		}
		if op.HasBody && len(body) > 0 {
			var v map[string]any
			if jerr := json.Unmarshal(body, &v); jerr != nil {
				t.Fatalf("passed a body encoding/json rejects: %v", jerr)
			}
			for _, mem := range op.top {
				if mem.Location == "body" && mem.Required && v[mem.Name] == nil {
					// Present under a folded key is fine (encoding/json binds it).
					found := false
					for k, x := range v {
						if strings.EqualFold(k, mem.Name) && x != nil {
							found = true
						}
					}
					if !found {
						t.Fatalf("passed without required %s", mem.Name)
					}
				}
			}
		}
	})
}

// FuzzMatch: Match never panics, answers 404/400 kinds only, and a routed
// request round-trips: re-encoding its labels into the template routes to
// the same operation with the same labels.
func FuzzMatch(f *testing.F) {
	m := MustLoad()
	for _, op := range m.Operations() {
		path := strings.NewReplacer("{MeetingId}", mid, "{AttendeeId}", aid).Replace(op.PathTemplate)
		f.Add(op.Method, path, op.QueryLiteral)
		f.Add(op.Method, path+"/", op.QueryLiteral)
		f.Add(op.Method, strings.ReplaceAll(path, mid, ""), op.QueryLiteral+"&operation=x")
	}
	f.Add("GET", "/meetings/a%2Fb%20c", "")
	f.Add("GET", "/meetings/%zz", "")
	f.Add("POST", "/meetings/"+mid+"/transcription", "")
	f.Add("", "", "")
	f.Add("GET", "//", "operation")

	f.Fuzz(func(t *testing.T, method, rawPath, rawQuery string) {
		query, _ := url.ParseQuery(rawQuery)
		op, labels, merr := m.Match(method, rawPath, query)
		if err := apiError(merr); err != nil {
			if op != nil || labels != nil {
				t.Fatal("error with a result")
			}
			if err.Kind != apierr.UnknownOperation && err.Kind != apierr.BadRequest {
				t.Fatalf("unexpected kind %v", err)
			}
			return
		}
		if op == nil || op.Method != method {
			t.Fatalf("routed %s to %v", method, op)
		}
		path := op.PathTemplate
		for _, s := range op.segments {
			if s.label == "" {
				continue
			}
			v, ok := labels[s.label]
			if !ok {
				t.Fatalf("%s: label %s missing", op.Name, s.label)
			}
			path = strings.Replace(path, "{"+s.label+"}", url.PathEscape(v), 1)
		}
		if len(labels) != strings.Count(op.PathTemplate, "{") {
			t.Fatalf("%s: extra labels %v", op.Name, labels)
		}
		op2, labels2, err2 := m.Match(method, path, query)
		if err2 != nil || op2 != op {
			t.Fatalf("round trip of %q via %q: %v %v", rawPath, path, op2, err2)
		}
		for k, v := range labels {
			if labels2[k] != v {
				t.Fatalf("round trip changed label %s: %q -> %q", k, v, labels2[k])
			}
		}
	})
}

// BenchmarkValidate measures the hot path: BatchUpdateAttendeeCapabilitiesExcept
// with 5 exclusions.
func BenchmarkValidate(b *testing.B) {
	m := MustLoad()
	op := m.Operation("BatchUpdateAttendeeCapabilitiesExcept")
	labels := map[string]string{"MeetingId": mid}
	body := []byte(`{"Capabilities":{"Audio":"SendReceive","Content":"None","Video":"Receive"},"ExcludedAttendeeIds":[` +
		`{"AttendeeId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee1"},{"AttendeeId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee2"},` +
		`{"AttendeeId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee3"},{"AttendeeId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee4"},` +
		`{"AttendeeId":"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeee5"}]}`)
	if err := op.Validate(labels, nil, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := op.Validate(labels, nil, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatch measures routing of the same request.
func BenchmarkMatch(b *testing.B) {
	m := MustLoad()
	q := url.Values{"operation": {"batch-update-except"}}
	path := "/meetings/" + mid + "/attendees/capabilities"
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := m.Match("PUT", path, q); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseBody is a differential test of the body parser against
// encoding/json (UseNumber): same verdict on syntax, same values (objects
// compared with encoding/json's last-key-wins).
func FuzzParseBody(f *testing.F) {
	m := MustLoad()
	for _, op := range m.Operations() {
		if op.HasBody {
			f.Add(baseInput(f, op).bodyBytes(f))
		}
	}
	for _, s := range []string{`{}`, `{"a":"\u00e9\ud83d\ude00\ud800x\\\"\/\b\f\n\r\t"}`, "{\"a\":\"\xff\xfe\"}", `{"a":[1,-0.5e+3,true,false,null,{}]}`, `{"a":1,"a":2}`, `{"a" : [ ] , "b":{ }}`, `[]`, `{"a":01}`, `{"a":"x`, `{} {}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := parseBody(body)
		var want any
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.UseNumber()
		jerr := dec.Decode(&want)
		if jerr == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				jerr = errNotJSON // trailing data
			}
		}
		switch {
		case err == errTooDeep:
			return
		case err == errNotObject:
			if jerr != nil {
				t.Fatalf("parser says valid non-object, encoding/json says %v", jerr)
			}
			if _, ok := want.(map[string]any); ok {
				t.Fatal("parser says non-object for an object")
			}
			return
		case err != nil:
			if jerr == nil {
				t.Fatalf("parser rejects %q which encoding/json accepts", body)
			}
			return
		case jerr != nil:
			t.Fatalf("parser accepts %q which encoding/json rejects: %v", body, jerr)
		}
		if got := toAny(n); !reflect.DeepEqual(got, want) {
			t.Fatalf("parse mismatch:\n got %#v\nwant %#v", got, want)
		}
	})
}

func toAny(n *jnode) any {
	switch n.kind {
	case jNull:
		return nil
	case jBool:
		return n.str == "true"
	case jNumber:
		return json.Number(n.str)
	case jString:
		return n.str
	case jArray:
		l := make([]any, len(n.elems))
		for i := range n.elems {
			l[i] = toAny(&n.elems[i])
		}
		return l
	default:
		obj := map[string]any{}
		for i := range n.fields {
			obj[n.fields[i].key] = toAny(&n.fields[i].val)
		}
		return obj
	}
}
