package sqlrow

import (
	"strings"
	"testing"
)

func TestDialectSQL(t *testing.T) {
	dollar := Dialect{Dollar: true}
	if got, want := dollar.SQL(DeleteAttendee), `DELETE FROM attendees WHERE meeting_id = $1 AND id = $2`; got != want {
		t.Errorf("SQL = %q, want %q", got, want)
	}
	if got, want := (Dialect{}).Values(3), `(?, ?, ?)`; got != want {
		t.Errorf("Values = %q, want %q", got, want)
	}
	if got, want := dollar.Values(3), `($1, $2, $3)`; got != want {
		t.Errorf("Values = %q, want %q", got, want)
	}
	q := dollar.ReadAttendee()
	if want := "a.id = $2\nWHERE m.id = $1"; !strings.Contains(q, want) {
		t.Errorf("ReadAttendee = %q, want it to contain %q", q, want)
	}
}
