package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The embedded digest is what this program makes of the published model.
// CI points CARILLON_SERVICE_MODEL at service-2.json; elsewhere the test
// looks in botocore's usual places and skips when there is no model.
func TestDigestIsUpToDate(t *testing.T) {
	path, tried := FindModel()
	if path == "" {
		t.Skipf("no service model: set CARILLON_SERVICE_MODEL to chime-sdk-meetings/2021-07-15/service-2.json (botocore 1.43.11) to run this test (looked in %v)", tried)
	}
	raw, err := ReadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Digest(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	embedded := filepath.Join("..", "..", "internal", "apimodel", "api-constraints.json")
	want, err := os.ReadFile(embedded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		line, col := firstDifference(got, want)
		t.Fatalf("%s differs from the digest of %s from line %d, column %d: run\n\tgo run ./tools/apidigest -model %s -out internal/apimodel/api-constraints.json\nand review the change", embedded, path, line, col, path)
	}
}

func firstDifference(a, b []byte) (line, col int) {
	line, col = 1, 1
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		col++
		if a[i] == '\n' {
			line, col = line+1, 1
		}
	}
	return line, col
}

// The digest's text is Python's json.dumps(indent=1) of the ordered tree:
// one-space indents, ": " after keys, non-ASCII escaped.
func TestWriteLikePython(t *testing.T) {
	o := &object{}
	o.set("b", "é\"\\\n\x01🙂/")
	o.set("a", []any{true, nil})
	o.set("e", &object{})
	o.set("l", []any{})
	var b bytes.Buffer
	write(&b, o, 0)
	want := "{\n \"b\": \"\\u00e9\\\"\\\\\\n\\u0001\\ud83d\\ude42/\",\n \"a\": [\n  true,\n  null\n ],\n \"e\": {},\n \"l\": []\n}"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
