package ids

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"testing"
)

func TestNewUUID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id, err := NewUUID(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !v4.MatchString(id) {
			t.Fatalf("%q is not a lowercase UUIDv4", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	got, _ := NewUUID(bytes.NewReader(make([]byte, 16)))
	if got != "00000000-0000-4000-8000-000000000000" {
		t.Fatalf("zero randomness gave %q", got)
	}
	if _, err := NewUUID(bytes.NewReader(nil)); err == nil {
		t.Fatal("want an error when randomness runs out")
	}
}
