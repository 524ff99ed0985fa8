// Package storetest is the conformance suite for meetings.Store engines. Every
// engine's tests call Run, so that the embedded engine (internal/store/sqlite)
// and the PostgreSQL engine (internal/store/postgres) behave identically.
//
// Beyond the interface's doc comments, the suite pins these choices (each
// subtest's comment says which):
//   - UpdateMeeting and DeleteMeeting of an absent meeting: ErrNoRecord.
//   - InsertAttendee and PutTags on an absent meeting: ErrNoRecord (a foreign
//     key violation is "no such meeting", not a failure).
//   - MeetingByToken with an empty token hash never matches.
//   - Seq values are never reused: an attendee created after others were
//     deleted gets a Seq above every Seq handed out before.
//   - Tags sort by key in byte order (Go's < on strings; PostgreSQL needs
//     COLLATE "C"), and ids and ExternalUserIds compare byte for byte.
//   - Times come back in UTC, equal to what was stored to the microsecond.
//   - ExpiredMeetings is strict (created_at < t); Replicas and ExpiredMeetings
//     results are compared as sets.
//   - Reads of children of an absent meeting (Attendees, CountAttendees,
//     Tags, Replicas) return nothing, not an error.
//   - View sees one snapshot for its whole duration (REPEATABLE READ or
//     stronger on PostgreSQL).
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

// Run runs the conformance suite. open must return a new, empty store for the
// calling (sub)test and arrange for it to be closed (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) meetings.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s meetings.Store)
	}{
		{"MeetingRoundTrip", testMeetingRoundTrip},
		{"MeetingByToken", testMeetingByToken},
		{"NoRecord", testNoRecord},
		{"DuplicateMeeting", testDuplicateMeeting},
		{"DuplicateAttendee", testDuplicateAttendee},
		{"UpdateMeeting", testUpdateMeeting},
		{"UpdateRollback", testUpdateRollback},
		{"UpdateReturnsFnErrorUnchanged", testUpdateReturnsFnError},
		{"UpdatePanicIsAnError", testUpdatePanic},
		{"UpdateGoexitRollsBack", testUpdateGoexit},
		{"DeleteMeetingCascades", testDeleteMeetingCascades},
		{"AttendeeRoundTrip", testAttendeeRoundTrip},
		{"AttendeesPaging", testAttendeesPaging},
		{"SeqNeverReused", testSeqNeverReused},
		{"CountAttendees", testCountAttendees},
		{"SetAttendeeCaps", testSetAttendeeCaps},
		{"AttendeesByID", testAttendeesByID},
		{"AttendeesByIDSeesItsTransaction", testAttendeesByIDInUpdate},
		{"DeleteAttendee", testDeleteAttendee},
		{"Tags", testTags},
		{"ExpiredMeetings", testExpiredMeetings},
		{"Replicas", testReplicas},
		{"IDsComparedAsGiven", testIDsComparedAsGiven},
		{"ViewSnapshot", testViewSnapshot},
		{"ReadAttendee", testReadAttendee},
		{"ReadAttendeeSeesEveryWrite", testReadAttendeeSeesEveryWrite},
		{"ConcurrentReadAttendee", testConcurrentReadAttendee},
		{"Ping", testPing},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"ConcurrentInsertSameExternalUserID", testConcurrentInsertSameExternalUserID},
		{"ConcurrentGetOrCreateAttendee", testConcurrentGetOrCreate},
		{"ConcurrentReadersAndWriter", testConcurrentReadersAndWriter},
	}
	tests = append(tests, historyTests...) // history.go
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// ---- helpers ----

// NewID returns a random lower-case UUIDv4, like the domain's ids.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var ctx = context.Background()

// base is a fixed creation time with millisecond precision.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

func intp(i int) *int { return &i }

// minimalMeeting has every optional member unset.
func minimalMeeting() meetings.MeetingRecord {
	id := NewID()
	return meetings.MeetingRecord{
		ID:          id,
		Account:     "111122223333",
		ARN:         "arn:aws:chime:us-east-1:111122223333:meeting/" + id,
		MediaRegion: "us-east-1",
		CreatedAt:   base,
	}
}

// NewMeetingRecord returns a new meeting with every member set, for an
// engine's own tests.
func NewMeetingRecord() meetings.MeetingRecord { return fullMeeting() }

// fullMeeting has every member set.
func fullMeeting() meetings.MeetingRecord {
	m := minimalMeeting()
	m.ExternalMeetingID = "ext-" + m.ID[:8]
	m.MeetingHostID = "host-1"
	m.PrimaryMeetingID = NewID()
	m.TenantIDs = []string{"tenant-b", "tenant-a"}
	m.Features = meetings.Features{
		Audio:    &meetings.AudioFeatures{EchoReduction: "AVAILABLE"},
		Video:    &meetings.VideoFeatures{MaxResolution: "FHD"},
		Content:  &meetings.ContentFeatures{MaxResolution: "UHD"},
		Attendee: &meetings.AttendeeFeatures{MaxCount: intp(25)},
	}
	m.Notifications = &meetings.Notifications{
		LambdaFunctionArn: "arn:aws:lambda:us-east-1:111122223333:function:f",
		SnsTopicArn:       "arn:aws:sns:us-east-1:111122223333:t",
		SqsQueueArn:       "arn:aws:sqs:us-east-1:111122223333:q",
	}
	m.NetworkType = "DualStack"
	m.TokenHash = "tok-" + m.ID
	m.RequestHash = "req-" + m.ID
	m.Version = 7
	m.Batch = &meetings.Capabilities{Audio: meetings.Send, Video: meetings.None, Content: meetings.Receive}
	m.BatchVersion = 5
	m.BatchPins = map[string]meetings.Capabilities{
		NewID(): {Audio: meetings.SendReceive, Video: meetings.SendReceive, Content: meetings.SendReceive},
		NewID(): {Audio: meetings.None, Video: meetings.Receive, Content: meetings.None},
	}
	m.Transcribing = true
	m.TranscriptionConfig = []byte(`{"EngineTranscribeSettings":{"LanguageCode":"en-US"}}`)
	return m
}

func newAttendee(meetingID, ext string) meetings.AttendeeRecord {
	return meetings.AttendeeRecord{
		MeetingID:      meetingID,
		ID:             NewID(),
		ExternalUserID: ext,
		JoinToken:      "jt-" + NewID(),
		Caps:           meetings.Capabilities{Audio: meetings.SendReceive, Video: meetings.Send, Content: meetings.None},
		CapsVersion:    1,
	}
}

func update(t *testing.T, s meetings.Store, fn func(tx meetings.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s meetings.Store, fn func(tx meetings.ReadTx) error) {
	t.Helper()
	if err := s.View(ctx, fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func insertMeeting(t *testing.T, s meetings.Store, m meetings.MeetingRecord) {
	t.Helper()
	update(t, s, func(tx meetings.Tx) error { return tx.InsertMeeting(ctx, m) })
}

func insertAttendee(t *testing.T, s meetings.Store, a *meetings.AttendeeRecord) {
	t.Helper()
	update(t, s, func(tx meetings.Tx) error {
		seq, err := tx.InsertAttendee(ctx, *a)
		a.Seq = seq
		return err
	})
}

func getMeeting(t *testing.T, s meetings.Store, id string) meetings.MeetingRecord {
	t.Helper()
	var m meetings.MeetingRecord
	view(t, s, func(tx meetings.ReadTx) error {
		var err error
		m, err = tx.Meeting(ctx, id)
		return err
	})
	return m
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sameMeeting compares two records: CreatedAt by instant (and got must be
// UTC), TranscriptionConfig by bytes, everything else deeply (nil and empty
// are different).
func sameMeeting(t *testing.T, what string, got, want meetings.MeetingRecord) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: CreatedAt = %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("%s: CreatedAt location = %v, want UTC", what, got.CreatedAt.Location())
	}
	if !bytes.Equal(got.TranscriptionConfig, want.TranscriptionConfig) {
		t.Errorf("%s: TranscriptionConfig = %q, want %q", what, got.TranscriptionConfig, want.TranscriptionConfig)
	}
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	got.TranscriptionConfig, want.TranscriptionConfig = nil, nil
	// reflect.DeepEqual tells nil from empty slices and pointers, as wanted.
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, dump(got), dump(want))
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

// ---- meetings ----

func testMeetingRoundTrip(t *testing.T, s meetings.Store) {
	full := fullMeeting()
	minimal := minimalMeeting()

	emptyTenants := minimalMeeting()
	emptyTenants.TenantIDs = []string{}
	emptyTenants.Notifications = &meetings.Notifications{}
	emptyTenants.TranscriptionConfig = nil

	// Members set but with their own members unset: the pointer survives.
	partial := minimalMeeting()
	partial.Features = meetings.Features{
		Audio:    &meetings.AudioFeatures{},
		Attendee: &meetings.AttendeeFeatures{},
	}
	partial.Batch = &meetings.Capabilities{Audio: meetings.None, Video: meetings.None, Content: meetings.None}

	// A time in another zone, with sub-millisecond precision: returned as
	// the same instant in UTC.
	zoned := minimalMeeting()
	zoned.CreatedAt = time.Date(2025, 1, 2, 3, 4, 5, 678_912_000, time.FixedZone("X", 5*3600+1800))

	all := []meetings.MeetingRecord{full, minimal, emptyTenants, partial, zoned}
	update(t, s, func(tx meetings.Tx) error {
		for _, m := range all {
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
		}
		// Visible inside the writing transaction.
		got, err := tx.Meeting(ctx, full.ID)
		if err != nil {
			return err
		}
		sameMeeting(t, "Meeting in the inserting Update", got, full)
		return nil
	})
	for i, m := range all {
		var got, locked meetings.MeetingRecord
		view(t, s, func(tx meetings.ReadTx) error {
			var err error
			got, err = tx.Meeting(ctx, m.ID)
			return err
		})
		sameMeeting(t, fmt.Sprintf("meeting %d via View", i), got, m)
		update(t, s, func(tx meetings.Tx) error {
			var err error
			locked, err = tx.LockMeeting(ctx, m.ID)
			return err
		})
		sameMeeting(t, fmt.Sprintf("meeting %d via LockMeeting", i), locked, m)
	}
	if got := getMeeting(t, s, minimal.ID); got.TenantIDs != nil || got.Notifications != nil || got.Batch != nil ||
		got.Features.Audio != nil || got.Features.Video != nil || got.Features.Content != nil || got.Features.Attendee != nil {
		t.Errorf("minimal meeting came back with set members: %s", dump(got))
	}
	if got := getMeeting(t, s, emptyTenants.ID); got.TenantIDs == nil || len(got.TenantIDs) != 0 {
		t.Errorf("TenantIDs []string{} came back as %#v", got.TenantIDs)
	}
	if got := getMeeting(t, s, partial.ID); got.Features.Attendee == nil || got.Features.Attendee.MaxCount != nil {
		t.Errorf("Features.Attendee{} came back as %s", dump(got.Features))
	}
}

func testMeetingByToken(t *testing.T, s meetings.Store) {
	a := fullMeeting()
	b := fullMeeting()
	b.Account = "444455556666"
	b.TokenHash = a.TokenHash // same token, another account: allowed
	none1, none2 := minimalMeeting(), minimalMeeting()
	update(t, s, func(tx meetings.Tx) error {
		for _, m := range []meetings.MeetingRecord{a, b, none1, none2} {
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx meetings.ReadTx) error {
		got, err := tx.MeetingByToken(ctx, a.Account, a.TokenHash)
		if err != nil {
			return err
		}
		sameMeeting(t, "MeetingByToken(a)", got, a)
		got, err = tx.MeetingByToken(ctx, b.Account, b.TokenHash)
		if err != nil {
			return err
		}
		sameMeeting(t, "MeetingByToken(b)", got, b)
		if _, err := tx.MeetingByToken(ctx, a.Account, "other"); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("MeetingByToken(unknown hash) = %v, want ErrNoRecord", err)
		}
		if _, err := tx.MeetingByToken(ctx, "999999999999", a.TokenHash); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("MeetingByToken(other account) = %v, want ErrNoRecord", err)
		}
		// Pinned: an empty hash (no ClientRequestToken) never matches.
		if _, err := tx.MeetingByToken(ctx, none1.Account, ""); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("MeetingByToken(empty hash) = %v, want ErrNoRecord", err)
		}
		return nil
	})
}

func testNoRecord(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	absent := NewID()
	want := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("%s = %v, want ErrNoRecord", name, err)
		}
	}
	view(t, s, func(tx meetings.ReadTx) error {
		_, err := tx.Meeting(ctx, absent)
		want("Meeting", err)
		_, err = tx.Attendee(ctx, m.ID, absent)
		want("Attendee", err)
		_, err = tx.Attendee(ctx, absent, absent)
		want("Attendee(absent meeting)", err)
		_, err = tx.AttendeeByExternalUserID(ctx, m.ID, "nobody")
		want("AttendeeByExternalUserID", err)
		// Pinned: children of an absent meeting are empty, not errors.
		if as, err := tx.Attendees(ctx, absent, 0, 10); err != nil || len(as) != 0 {
			t.Errorf("Attendees(absent) = %v, %v; want none", as, err)
		}
		if n, err := tx.CountAttendees(ctx, absent); err != nil || n != 0 {
			t.Errorf("CountAttendees(absent) = %d, %v; want 0", n, err)
		}
		if tags, err := tx.Tags(ctx, absent); err != nil || len(tags) != 0 {
			t.Errorf("Tags(absent) = %v, %v; want none", tags, err)
		}
		if ids, err := tx.Replicas(ctx, absent); err != nil || len(ids) != 0 {
			t.Errorf("Replicas(absent) = %v, %v; want none", ids, err)
		}
		return nil
	})
	// Each write runs in its own Update: after an error, a PostgreSQL
	// transaction is aborted.
	type op struct {
		name string
		fn   func(tx meetings.Tx) error
	}
	for _, o := range []op{
		{"LockMeeting", func(tx meetings.Tx) error { _, err := tx.LockMeeting(ctx, absent); return err }},
		{"UpdateMeeting", func(tx meetings.Tx) error { a := m; a.ID = absent; return tx.UpdateMeeting(ctx, a) }},
		{"DeleteMeeting", func(tx meetings.Tx) error { return tx.DeleteMeeting(ctx, absent) }},
		{"SetAttendeeCaps", func(tx meetings.Tx) error {
			return tx.SetAttendeeCaps(ctx, m.ID, absent, meetings.Capabilities{Audio: "None", Video: "None", Content: "None"}, 2)
		}},
		{"DeleteAttendee", func(tx meetings.Tx) error { return tx.DeleteAttendee(ctx, m.ID, absent) }},
		{"InsertAttendee(absent meeting)", func(tx meetings.Tx) error {
			_, err := tx.InsertAttendee(ctx, newAttendee(absent, "u1"))
			return err
		}},
		{"PutTags(absent meeting)", func(tx meetings.Tx) error {
			return tx.PutTags(ctx, absent, []meetings.Tag{{Key: "k", Value: "v"}})
		}},
	} {
		want(o.name, s.Update(ctx, o.fn))
	}
	// DeleteTags ignores absent keys, and an absent meeting.
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteTags(ctx, absent, []string{"k"}) })
	// Nothing above changed the meeting.
	sameMeeting(t, "meeting after failed writes", getMeeting(t, s, m.ID), m)
}

func testDuplicateMeeting(t *testing.T, s meetings.Store) {
	a := fullMeeting()
	insertMeeting(t, s, a)
	wantDup := func(name string, m meetings.MeetingRecord) {
		t.Helper()
		err := s.Update(ctx, func(tx meetings.Tx) error { return tx.InsertMeeting(ctx, m) })
		if !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("%s: InsertMeeting = %v, want ErrDuplicate", name, err)
		}
	}
	sameID := fullMeeting()
	sameID.ID = a.ID
	wantDup("same id", sameID)
	sameToken := fullMeeting()
	sameToken.TokenHash = a.TokenHash
	wantDup("same account and token hash", sameToken)

	// Not duplicates: same token in another account; many meetings without a
	// token.
	other := fullMeeting()
	other.Account = "444455556666"
	other.TokenHash = a.TokenHash
	insertMeeting(t, s, other)
	for range 3 {
		insertMeeting(t, s, minimalMeeting())
	}
	sameMeeting(t, "original after duplicates", getMeeting(t, s, a.ID), a)
}

func testDuplicateAttendee(t *testing.T, s meetings.Store) {
	m1, m2 := minimalMeeting(), minimalMeeting()
	insertMeeting(t, s, m1)
	insertMeeting(t, s, m2)
	a := newAttendee(m1.ID, "alice")
	insertAttendee(t, s, &a)
	wantDup := func(name string, x meetings.AttendeeRecord) {
		t.Helper()
		err := s.Update(ctx, func(tx meetings.Tx) error { _, err := tx.InsertAttendee(ctx, x); return err })
		if !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("%s: InsertAttendee = %v, want ErrDuplicate", name, err)
		}
	}
	sameID := newAttendee(m1.ID, "bob")
	sameID.ID = a.ID
	wantDup("same attendee id", sameID)
	wantDup("same external user id", newAttendee(m1.ID, "alice"))

	// The same ExternalUserId in another meeting, or differing in case, is
	// another attendee.
	b := newAttendee(m2.ID, "alice")
	insertAttendee(t, s, &b)
	c := newAttendee(m1.ID, "Alice")
	insertAttendee(t, s, &c)
	view(t, s, func(tx meetings.ReadTx) error {
		n, err := tx.CountAttendees(ctx, m1.ID)
		if n != 2 {
			t.Errorf("CountAttendees = %d, want 2", n)
		}
		return err
	})
}

// UpdateMeeting writes exactly the mutable fields.
func testUpdateMeeting(t *testing.T, s meetings.Store) {
	m := fullMeeting()
	insertMeeting(t, s, m)
	changed := m
	changed.Version = 42
	changed.Batch = &meetings.Capabilities{Audio: meetings.Receive, Video: meetings.SendReceive, Content: meetings.Send}
	changed.BatchVersion = 41
	changed.BatchPins = map[string]meetings.Capabilities{NewID(): {Audio: meetings.Send, Video: meetings.Send, Content: meetings.None}}
	changed.Transcribing = false
	changed.TranscriptionConfig = []byte(`{"x":1}`)
	// Immutable fields in the record are not written.
	attempt := changed
	attempt.Account = "000000000000"
	attempt.ARN = "changed"
	attempt.ExternalMeetingID = "changed"
	attempt.MeetingHostID = "changed"
	attempt.MediaRegion = "eu-west-1"
	attempt.PrimaryMeetingID = ""
	attempt.TenantIDs = nil
	attempt.Features = meetings.Features{}
	attempt.Notifications = nil
	attempt.NetworkType = "Ipv4Only"
	attempt.CreatedAt = base.Add(time.Hour)
	attempt.TokenHash = "changed"
	attempt.RequestHash = "changed"
	update(t, s, func(tx meetings.Tx) error { return tx.UpdateMeeting(ctx, attempt) })
	sameMeeting(t, "after UpdateMeeting", getMeeting(t, s, m.ID), changed)

	// Batch, pins and config back to nil (an empty map of pins is stored
	// as none).
	changed.Batch = nil
	changed.BatchVersion = 0
	changed.BatchPins = map[string]meetings.Capabilities{}
	update(t, s, func(tx meetings.Tx) error { return tx.UpdateMeeting(ctx, changed) })
	changed.BatchPins = nil
	changed.TranscriptionConfig = nil
	update(t, s, func(tx meetings.Tx) error { return tx.UpdateMeeting(ctx, changed) })
	sameMeeting(t, "after clearing", getMeeting(t, s, m.ID), changed)
}

var errBoom = errors.New("boom")

func testUpdateRollback(t *testing.T, s meetings.Store) {
	m := fullMeeting()
	a := newAttendee(m.ID, "alice")
	insertMeeting(t, s, m)
	insertAttendee(t, s, &a)
	update(t, s, func(tx meetings.Tx) error { return tx.PutTags(ctx, m.ID, []meetings.Tag{{Key: "k", Value: "v"}}) })

	fresh := minimalMeeting()
	err := s.Update(ctx, func(tx meetings.Tx) error {
		if err := tx.InsertMeeting(ctx, fresh); err != nil {
			return err
		}
		if _, err := tx.InsertAttendee(ctx, newAttendee(fresh.ID, "x")); err != nil {
			return err
		}
		if _, err := tx.InsertAttendee(ctx, newAttendee(m.ID, "bob")); err != nil {
			return err
		}
		mm := m
		mm.Version = 99
		if err := tx.UpdateMeeting(ctx, mm); err != nil {
			return err
		}
		if err := tx.SetAttendeeCaps(ctx, m.ID, a.ID, meetings.Capabilities{Audio: "None", Video: "None", Content: "None"}, 99); err != nil {
			return err
		}
		if err := tx.PutTags(ctx, m.ID, []meetings.Tag{{Key: "k", Value: "changed"}, {Key: "k2", Value: "v2"}}); err != nil {
			return err
		}
		if err := tx.DeleteTags(ctx, m.ID, []string{"k"}); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update = %v, want the fn's error", err)
	}
	// A store error after writes rolls them back too.
	err = s.Update(ctx, func(tx meetings.Tx) error {
		if err := tx.InsertMeeting(ctx, fresh); err != nil {
			return err
		}
		_, err := tx.InsertAttendee(ctx, newAttendee(m.ID, "alice"))
		return err
	})
	if !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("Update = %v, want ErrDuplicate", err)
	}
	// A deletion rolled back.
	err = s.Update(ctx, func(tx meetings.Tx) error {
		if err := tx.DeleteAttendee(ctx, m.ID, a.ID); err != nil {
			return err
		}
		if err := tx.DeleteMeeting(ctx, m.ID); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update = %v, want the fn's error", err)
	}

	sameMeeting(t, "meeting after rollbacks", getMeeting(t, s, m.ID), m)
	view(t, s, func(tx meetings.ReadTx) error {
		if _, err := tx.Meeting(ctx, fresh.ID); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("meeting inserted by a rolled-back Update: %v", err)
		}
		as, err := tx.Attendees(ctx, m.ID, 0, 10)
		if err != nil {
			return err
		}
		if len(as) != 1 || as[0] != a {
			t.Errorf("attendees after rollbacks = %+v, want [%+v]", as, a)
		}
		tags, err := tx.Tags(ctx, m.ID)
		if err != nil {
			return err
		}
		if want := []meetings.Tag{{Key: "k", Value: "v"}}; !slices.Equal(tags, want) {
			t.Errorf("tags after rollbacks = %v, want %v", tags, want)
		}
		return nil
	})
}

type customErr struct{ code int }

func (e *customErr) Error() string { return fmt.Sprintf("custom %d", e.code) }

func testUpdateReturnsFnError(t *testing.T, s meetings.Store) {
	want := &customErr{code: 400}
	err := s.Update(ctx, func(tx meetings.Tx) error { return want })
	if err != want {
		t.Errorf("Update = %#v, want the fn's error itself", err)
	}
	// View too.
	err = s.View(ctx, func(tx meetings.ReadTx) error { return want })
	if err != want {
		t.Errorf("View = %#v, want the fn's error itself", err)
	}
	// A wrapped store error keeps its sentinel.
	err = s.Update(ctx, func(tx meetings.Tx) error {
		_, err := tx.Meeting(ctx, NewID())
		return fmt.Errorf("domain: %w", err)
	})
	if !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("Update = %v, want ErrNoRecord in the chain", err)
	}
	// A cancelled context fails the Update and commits nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	m := minimalMeeting()
	err = s.Update(cctx, func(tx meetings.Tx) error { return tx.InsertMeeting(cctx, m) })
	if err == nil {
		t.Errorf("Update with a cancelled context succeeded")
	}
	view(t, s, func(tx meetings.ReadTx) error {
		if _, err := tx.Meeting(ctx, m.ID); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("meeting written under a cancelled context: %v", err)
		}
		return nil
	})
}

// A panic in an Update's fn rolls its writes back and reaches the caller as
// an error matching store.ErrAborted, not as a panic; the store serves on.
func testUpdatePanic(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	var err error
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Errorf("Update panicked with %v, want an error", v)
			}
		}()
		err = s.Update(ctx, func(tx meetings.Tx) error {
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if !errors.Is(err, store.ErrAborted) {
		t.Errorf("Update whose fn panicked = %v, want store.ErrAborted", err)
	}
	assertServesAfterAbort(t, s, m.ID)
}

// runtime.Goexit in an Update's fn (t.FailNow in a test) rolls its writes
// back and leaves the store serving. An engine that runs fn on another
// goroutine than the caller's answers the caller with an error matching
// store.ErrAborted; one that runs it on the caller's goroutine lets Goexit
// end that goroutine, as it would anywhere else. Update never returns nil.
func testUpdateGoexit(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	done := make(chan struct{})
	var (
		returned bool
		err      error
	)
	go func() {
		defer close(done)
		err = s.Update(ctx, func(tx meetings.Tx) error {
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		})
		returned = true
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Update whose fn called runtime.Goexit neither returned nor ended its goroutine")
	}
	if returned && !errors.Is(err, store.ErrAborted) {
		t.Errorf("Update whose fn called runtime.Goexit = %v, want store.ErrAborted", err)
	}
	assertServesAfterAbort(t, s, m.ID)
}

// assertServesAfterAbort checks that the aborted Update wrote nothing and
// that the store still commits Updates.
func assertServesAfterAbort(t *testing.T, s meetings.Store, abortedMeetingID string) {
	t.Helper()
	view(t, s, func(tx meetings.ReadTx) error {
		if _, err := tx.Meeting(ctx, abortedMeetingID); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("the aborted Update's meeting: %v, want ErrNoRecord (rolled back)", err)
		}
		return nil
	})
	if _, _, _, err := s.ReadAttendee(ctx, abortedMeetingID, NewID()); !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("ReadAttendee of the aborted Update's meeting: %v, want ErrNoRecord", err)
	}
	next := minimalMeeting()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Update(tctx, func(tx meetings.Tx) error { return tx.InsertMeeting(tctx, next) }); err != nil {
		t.Fatalf("Update after an aborted one: %v", err)
	}
	getMeeting(t, s, next.ID)
}

func testDeleteMeetingCascades(t *testing.T, s meetings.Store) {
	m, keep := fullMeeting(), fullMeeting()
	insertMeeting(t, s, m)
	insertMeeting(t, s, keep)
	var mine []meetings.AttendeeRecord
	for _, mt := range []meetings.MeetingRecord{m, keep} {
		for i := range 3 {
			a := newAttendee(mt.ID, fmt.Sprintf("user-%d", i))
			insertAttendee(t, s, &a)
			if mt.ID == m.ID {
				mine = append(mine, a)
			}
		}
		update(t, s, func(tx meetings.Tx) error {
			return tx.PutTags(ctx, mt.ID, []meetings.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}})
		})
	}
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteMeeting(ctx, m.ID) })
	view(t, s, func(tx meetings.ReadTx) error {
		if _, err := tx.Meeting(ctx, m.ID); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("Meeting after delete: %v", err)
		}
		if _, err := tx.MeetingByToken(ctx, m.Account, m.TokenHash); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("MeetingByToken after delete: %v", err)
		}
		for _, a := range mine {
			if _, err := tx.Attendee(ctx, m.ID, a.ID); !errors.Is(err, store.ErrNoRecord) {
				t.Errorf("Attendee after delete: %v", err)
			}
			if _, err := tx.AttendeeByExternalUserID(ctx, m.ID, a.ExternalUserID); !errors.Is(err, store.ErrNoRecord) {
				t.Errorf("AttendeeByExternalUserID after delete: %v", err)
			}
		}
		if n, _ := tx.CountAttendees(ctx, m.ID); n != 0 {
			t.Errorf("CountAttendees after delete = %d", n)
		}
		if as, _ := tx.Attendees(ctx, m.ID, 0, 100); len(as) != 0 {
			t.Errorf("Attendees after delete = %v", as)
		}
		if tags, _ := tx.Tags(ctx, m.ID); len(tags) != 0 {
			t.Errorf("Tags after delete = %v", tags)
		}
		if n, _ := tx.CountAttendees(ctx, keep.ID); n != 3 {
			t.Errorf("other meeting's attendees = %d, want 3", n)
		}
		if tags, _ := tx.Tags(ctx, keep.ID); len(tags) != 2 {
			t.Errorf("other meeting's tags = %v", tags)
		}
		return nil
	})
	// The id, the token and the attendees' keys are free again.
	insertMeeting(t, s, m)
	a := mine[0]
	insertAttendee(t, s, &a)
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteMeeting(ctx, m.ID) })
}

func testAttendeeRoundTrip(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a := newAttendee(m.ID, "Alice_01")
	a.Caps = meetings.Capabilities{Audio: meetings.Receive, Video: meetings.None, Content: meetings.SendReceive}
	a.CapsVersion = 12
	a.Seq = 987654 // ignored: InsertAttendee assigns it
	update(t, s, func(tx meetings.Tx) error {
		seq, err := tx.InsertAttendee(ctx, a)
		if err != nil {
			return err
		}
		if seq <= 0 {
			t.Errorf("InsertAttendee seq = %d, want > 0", seq)
		}
		a.Seq = seq
		got, err := tx.Attendee(ctx, m.ID, a.ID)
		if err != nil {
			return err
		}
		if got != a {
			t.Errorf("Attendee in the inserting Update = %+v, want %+v", got, a)
		}
		return nil
	})
	view(t, s, func(tx meetings.ReadTx) error {
		got, err := tx.Attendee(ctx, m.ID, a.ID)
		if err != nil || got != a {
			t.Errorf("Attendee = %+v, %v; want %+v", got, err, a)
		}
		got, err = tx.AttendeeByExternalUserID(ctx, m.ID, a.ExternalUserID)
		if err != nil || got != a {
			t.Errorf("AttendeeByExternalUserID = %+v, %v; want %+v", got, err, a)
		}
		if _, err := tx.AttendeeByExternalUserID(ctx, m.ID, "alice_01"); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("AttendeeByExternalUserID is not an exact match: %v", err)
		}
		if _, err := tx.Attendee(ctx, NewID(), a.ID); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("Attendee under another meeting id: %v", err)
		}
		return nil
	})
}

func testAttendeesPaging(t *testing.T, s meetings.Store) {
	m1, m2 := minimalMeeting(), minimalMeeting()
	insertMeeting(t, s, m1)
	insertMeeting(t, s, m2)
	// Created over several Updates, interleaved with another meeting's, some
	// several per Update.
	var want []meetings.AttendeeRecord
	n := 0
	for round := range 5 {
		update(t, s, func(tx meetings.Tx) error {
			for i := 0; i <= round%3; i++ {
				a := newAttendee(m1.ID, fmt.Sprintf("u%02d", n))
				n++
				seq, err := tx.InsertAttendee(ctx, a)
				if err != nil {
					return err
				}
				a.Seq = seq
				want = append(want, a)
				if _, err := tx.InsertAttendee(ctx, newAttendee(m2.ID, fmt.Sprintf("other-%02d", n))); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for i := 1; i < len(want); i++ {
		if want[i].Seq <= want[i-1].Seq {
			t.Fatalf("Seq not increasing in creation order: %d then %d", want[i-1].Seq, want[i].Seq)
		}
	}
	for _, limit := range []int{1, 3, 100} {
		var got []meetings.AttendeeRecord
		var after int64
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			var page []meetings.AttendeeRecord
			view(t, s, func(tx meetings.ReadTx) error {
				var err error
				page, err = tx.Attendees(ctx, m1.ID, after, limit)
				return err
			})
			if len(page) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].Seq
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: pages =\n%+v\nwant\n%+v", limit, got, want)
		}
	}
	// afterSeq in the middle, and past the end.
	view(t, s, func(tx meetings.ReadTx) error {
		page, err := tx.Attendees(ctx, m1.ID, want[2].Seq, 2)
		if err != nil {
			return err
		}
		if !slices.Equal(page, want[3:5]) {
			t.Errorf("Attendees(after %d, 2) = %+v, want %+v", want[2].Seq, page, want[3:5])
		}
		page, err = tx.Attendees(ctx, m1.ID, want[len(want)-1].Seq, 10)
		if err != nil || len(page) != 0 {
			t.Errorf("Attendees(after last) = %+v, %v", page, err)
		}
		return nil
	})
	// A deleted attendee drops out of the pages.
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteAttendee(ctx, m1.ID, want[1].ID) })
	view(t, s, func(tx meetings.ReadTx) error {
		page, err := tx.Attendees(ctx, m1.ID, 0, 2)
		if err != nil {
			return err
		}
		if w := []meetings.AttendeeRecord{want[0], want[2]}; !slices.Equal(page, w) {
			t.Errorf("after delete: %+v, want %+v", page, w)
		}
		return nil
	})
}

// Pinned: Seq values are never handed out twice, even after the attendee
// with the highest Seq is deleted (paging tokens carry Seq values).
func testSeqNeverReused(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a, b := newAttendee(m.ID, "a"), newAttendee(m.ID, "b")
	insertAttendee(t, s, &a)
	insertAttendee(t, s, &b)
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteAttendee(ctx, m.ID, b.ID) })
	c := newAttendee(m.ID, "b")
	insertAttendee(t, s, &c)
	if c.Seq <= b.Seq {
		t.Errorf("Seq after deleting the last attendee = %d, want > %d", c.Seq, b.Seq)
	}
	// Also across meetings: Seq is store-wide.
	m2 := minimalMeeting()
	insertMeeting(t, s, m2)
	d := newAttendee(m2.ID, "a")
	insertAttendee(t, s, &d)
	if d.Seq <= c.Seq {
		t.Errorf("Seq in another meeting = %d, want > %d", d.Seq, c.Seq)
	}
}

func testCountAttendees(t *testing.T, s meetings.Store) {
	m, other := minimalMeeting(), minimalMeeting()
	insertMeeting(t, s, m)
	insertMeeting(t, s, other)
	count := func(want int) {
		t.Helper()
		view(t, s, func(tx meetings.ReadTx) error {
			n, err := tx.CountAttendees(ctx, m.ID)
			if n != want {
				t.Errorf("CountAttendees = %d, want %d", n, want)
			}
			return err
		})
	}
	count(0)
	var as []meetings.AttendeeRecord
	update(t, s, func(tx meetings.Tx) error {
		for i := range 7 {
			a := newAttendee(m.ID, fmt.Sprint("u", i))
			if _, err := tx.InsertAttendee(ctx, a); err != nil {
				return err
			}
			as = append(as, a)
			// Counted inside the transaction too.
			n, err := tx.CountAttendees(ctx, m.ID)
			if err != nil {
				return err
			}
			if n != i+1 {
				t.Errorf("CountAttendees inside Update = %d, want %d", n, i+1)
			}
		}
		_, err := tx.InsertAttendee(ctx, newAttendee(other.ID, "u0"))
		return err
	})
	count(7)
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteAttendee(ctx, m.ID, as[3].ID) })
	count(6)
}

func testSetAttendeeCaps(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a, b := newAttendee(m.ID, "a"), newAttendee(m.ID, "b")
	insertAttendee(t, s, &a)
	insertAttendee(t, s, &b)
	caps := meetings.Capabilities{Audio: meetings.None, Video: meetings.Receive, Content: meetings.Receive}
	update(t, s, func(tx meetings.Tx) error {
		if err := tx.SetAttendeeCaps(ctx, m.ID, a.ID, caps, 9); err != nil {
			return err
		}
		got, err := tx.Attendee(ctx, m.ID, a.ID)
		if got.Caps != caps || got.CapsVersion != 9 {
			t.Errorf("inside Update: %+v", got)
		}
		return err
	})
	a.Caps, a.CapsVersion = caps, 9
	view(t, s, func(tx meetings.ReadTx) error {
		got, err := tx.Attendee(ctx, m.ID, a.ID)
		if got != a {
			t.Errorf("Attendee = %+v, want %+v", got, a)
		}
		got2, _ := tx.AttendeeByExternalUserID(ctx, m.ID, "a")
		if got2 != a {
			t.Errorf("AttendeeByExternalUserID = %+v, want %+v", got2, a)
		}
		other, _ := tx.Attendee(ctx, m.ID, b.ID)
		if other != b {
			t.Errorf("other attendee changed: %+v, want %+v", other, b)
		}
		page, _ := tx.Attendees(ctx, m.ID, 0, 10)
		if !slices.Equal(page, []meetings.AttendeeRecord{a, b}) {
			t.Errorf("Attendees = %+v", page)
		}
		return err
	})
	// The same triple and version again is not an error.
	update(t, s, func(tx meetings.Tx) error { return tx.SetAttendeeCaps(ctx, m.ID, a.ID, caps, 9) })
	// The wrong meeting id is ErrNoRecord.
	err := s.Update(ctx, func(tx meetings.Tx) error { return tx.SetAttendeeCaps(ctx, NewID(), a.ID, caps, 10) })
	if !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("SetAttendeeCaps under another meeting = %v, want ErrNoRecord", err)
	}
}

// attendeesByID reads AttendeesByID in a View and returns the ids found,
// sorted, checking each record against the attendee as Attendee reads it.
func attendeesByID(t *testing.T, s meetings.Store, meetingID string, ids []string) []string {
	t.Helper()
	var found []string
	view(t, s, func(tx meetings.ReadTx) error {
		as, err := tx.AttendeesByID(ctx, meetingID, ids)
		if err != nil {
			return err
		}
		for _, a := range as {
			if a.MeetingID != meetingID {
				t.Errorf("AttendeesByID(%s) returned an attendee of meeting %s", meetingID, a.MeetingID)
			}
			one, err := tx.Attendee(ctx, meetingID, a.ID)
			if err != nil || one != a {
				t.Errorf("AttendeesByID gave %+v, Attendee %+v (%v)", a, one, err)
			}
			found = append(found, a.ID)
		}
		return nil
	})
	return sortedCopy(found)
}

// AttendeesByID returns the listed attendees of the meeting, whole, and
// nothing else: not unknown ids, not other meetings' attendees (even one
// with a listed id), not ids in another case.
func testAttendeesByID(t *testing.T, s meetings.Store) {
	m, other := minimalMeeting(), minimalMeeting()
	insertMeeting(t, s, m)
	insertMeeting(t, s, other)
	a, b, unlisted := newAttendee(m.ID, "a"), newAttendee(m.ID, "b"), newAttendee(m.ID, "unlisted")
	for _, x := range []*meetings.AttendeeRecord{&a, &b, &unlisted} {
		insertAttendee(t, s, x)
	}
	twin := newAttendee(other.ID, "twin")
	twin.ID = a.ID
	stranger := newAttendee(other.ID, "stranger")
	insertAttendee(t, s, &twin)
	insertAttendee(t, s, &stranger)
	for _, c := range []struct {
		name      string
		meetingID string
		ids       []string
		want      []string
	}{
		{"some listed, some unknown", m.ID, []string{b.ID, NewID(), a.ID, stranger.ID}, []string{a.ID, b.ID}},
		{"the twin's meeting", other.ID, []string{a.ID, b.ID}, []string{twin.ID}},
		{"nil ids", m.ID, nil, nil},
		{"empty ids", m.ID, []string{}, nil},
		{"unknown ids", m.ID, []string{NewID(), NewID()}, nil},
		{"upper-case id", m.ID, []string{strings.ToUpper(a.ID)}, nil},
		{"absent meeting", NewID(), []string{a.ID}, nil},
	} {
		got := attendeesByID(t, s, c.meetingID, c.ids)
		if want := sortedCopy(c.want); !slices.Equal(got, want) {
			t.Errorf("%s: AttendeesByID = %v, want %v", c.name, got, want)
		}
	}
}

// Inside an Update, AttendeesByID sees the transaction's own writes before
// it: an attendee inserted, capabilities set, an attendee deleted.
func testAttendeesByIDInUpdate(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a, gone := newAttendee(m.ID, "a"), newAttendee(m.ID, "gone")
	insertAttendee(t, s, &a)
	insertAttendee(t, s, &gone)
	// Read once outside, so that an engine that keeps state may hold it.
	attendeesByID(t, s, m.ID, []string{a.ID})
	caps := meetings.Capabilities{Audio: meetings.None, Video: meetings.Receive, Content: meetings.Receive}
	fresh := newAttendee(m.ID, "fresh")
	update(t, s, func(tx meetings.Tx) error {
		if err := tx.SetAttendeeCaps(ctx, m.ID, a.ID, caps, 9); err != nil {
			return err
		}
		seq, err := tx.InsertAttendee(ctx, fresh)
		if err != nil {
			return err
		}
		fresh.Seq = seq
		if err := tx.DeleteAttendee(ctx, m.ID, gone.ID); err != nil {
			return err
		}
		as, err := tx.AttendeesByID(ctx, m.ID, []string{a.ID, fresh.ID, gone.ID})
		if err != nil {
			return err
		}
		want := a
		want.Caps, want.CapsVersion = caps, 9
		sortByID := func(as []meetings.AttendeeRecord) {
			slices.SortFunc(as, func(x, y meetings.AttendeeRecord) int { return strings.Compare(x.ID, y.ID) })
		}
		wantAll := []meetings.AttendeeRecord{want, fresh}
		sortByID(as)
		sortByID(wantAll)
		if !slices.Equal(as, wantAll) {
			t.Errorf("inside the Update: AttendeesByID = %+v, want %+v", as, wantAll)
		}
		return nil
	})
}

func testDeleteAttendee(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a := newAttendee(m.ID, "a")
	insertAttendee(t, s, &a)
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteAttendee(ctx, m.ID, a.ID) })
	err := s.Update(ctx, func(tx meetings.Tx) error { return tx.DeleteAttendee(ctx, m.ID, a.ID) })
	if !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("second DeleteAttendee = %v, want ErrNoRecord", err)
	}
	view(t, s, func(tx meetings.ReadTx) error {
		if _, err := tx.Attendee(ctx, m.ID, a.ID); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("Attendee after delete = %v", err)
		}
		return nil
	})
	// The ExternalUserId is free again.
	b := newAttendee(m.ID, "a")
	insertAttendee(t, s, &b)
}

func testTags(t *testing.T, s meetings.Store) {
	m, other := minimalMeeting(), minimalMeeting()
	insertMeeting(t, s, m)
	insertMeeting(t, s, other)
	tags := func(id string) []meetings.Tag {
		var out []meetings.Tag
		view(t, s, func(tx meetings.ReadTx) error {
			var err error
			out, err = tx.Tags(ctx, id)
			return err
		})
		return out
	}
	if got := tags(m.ID); len(got) != 0 {
		t.Errorf("Tags of a new meeting = %v", got)
	}
	update(t, s, func(tx meetings.Tx) error {
		if err := tx.PutTags(ctx, m.ID, []meetings.Tag{
			{Key: "b", Value: "2"}, {Key: "a", Value: "1"}, {Key: "B", Value: "upper"},
			{Key: "_x", Value: ""}, {Key: "é", Value: "e-acute"}, {Key: "a1", Value: "x"},
		}); err != nil {
			return err
		}
		return tx.PutTags(ctx, other.ID, []meetings.Tag{{Key: "a", Value: "other"}})
	})
	// Byte order: "B" < "_x" < "a" < "a1" < "b" < "é".
	want := []meetings.Tag{
		{Key: "B", Value: "upper"}, {Key: "_x", Value: ""}, {Key: "a", Value: "1"},
		{Key: "a1", Value: "x"}, {Key: "b", Value: "2"}, {Key: "é", Value: "e-acute"},
	}
	if got := tags(m.ID); !slices.Equal(got, want) {
		t.Errorf("Tags = %v, want %v", got, want)
	}
	// Overwrite one, add one, in the same call; empty calls are no-ops.
	update(t, s, func(tx meetings.Tx) error {
		if err := tx.PutTags(ctx, m.ID, nil); err != nil {
			return err
		}
		if err := tx.DeleteTags(ctx, m.ID, nil); err != nil {
			return err
		}
		return tx.PutTags(ctx, m.ID, []meetings.Tag{{Key: "a", Value: "one"}, {Key: "c", Value: "3"}})
	})
	want = []meetings.Tag{
		{Key: "B", Value: "upper"}, {Key: "_x", Value: ""}, {Key: "a", Value: "one"},
		{Key: "a1", Value: "x"}, {Key: "b", Value: "2"}, {Key: "c", Value: "3"}, {Key: "é", Value: "e-acute"},
	}
	if got := tags(m.ID); !slices.Equal(got, want) {
		t.Errorf("after overwrite: Tags = %v, want %v", got, want)
	}
	// Delete with absent keys (ignored) and case-sensitive keys.
	update(t, s, func(tx meetings.Tx) error {
		return tx.DeleteTags(ctx, m.ID, []string{"a", "nope", "b", "b", "A1"})
	})
	want = []meetings.Tag{
		{Key: "B", Value: "upper"}, {Key: "_x", Value: ""}, {Key: "a1", Value: "x"},
		{Key: "c", Value: "3"}, {Key: "é", Value: "e-acute"},
	}
	if got := tags(m.ID); !slices.Equal(got, want) {
		t.Errorf("after delete: Tags = %v, want %v", got, want)
	}
	if got := tags(other.ID); !slices.Equal(got, []meetings.Tag{{Key: "a", Value: "other"}}) {
		t.Errorf("other meeting's tags = %v", got)
	}
}

func testExpiredMeetings(t *testing.T, s meetings.Store) {
	t0 := base
	var old []string
	update(t, s, func(tx meetings.Tx) error {
		for _, d := range []time.Duration{-72 * time.Hour, -3 * time.Hour, -time.Millisecond, 0, time.Millisecond, time.Hour} {
			m := minimalMeeting()
			m.CreatedAt = t0.Add(d)
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
			if d < 0 {
				old = append(old, m.ID)
			}
		}
		return nil
	})
	expired := func(before time.Time, limit int) []string {
		var ids []string
		view(t, s, func(tx meetings.ReadTx) error {
			var err error
			ids, err = tx.ExpiredMeetings(ctx, before, limit)
			return err
		})
		return ids
	}
	// Strictly before t; the location of t does not matter.
	if got := expired(t0.In(time.FixedZone("Y", -7*3600)), 100); !slices.Equal(sortedCopy(got), sortedCopy(old)) {
		t.Errorf("ExpiredMeetings = %v, want %v", got, old)
	}
	got := expired(t0, 2)
	if len(got) != 2 {
		t.Fatalf("ExpiredMeetings(limit 2) = %v", got)
	}
	for _, id := range got {
		if !slices.Contains(old, id) {
			t.Errorf("ExpiredMeetings(limit 2) returned %s, which is not expired", id)
		}
	}
	if got := expired(t0.Add(-100*time.Hour), 10); len(got) != 0 {
		t.Errorf("ExpiredMeetings(long ago) = %v", got)
	}
}

func testReplicas(t *testing.T, s meetings.Store) {
	p1, p2 := minimalMeeting(), minimalMeeting()
	insertMeeting(t, s, p1)
	insertMeeting(t, s, p2)
	var r1 []string
	for i := range 3 {
		r := minimalMeeting()
		r.PrimaryMeetingID = p1.ID
		if i == 2 {
			r.PrimaryMeetingID = p2.ID
		} else {
			r1 = append(r1, r.ID)
		}
		insertMeeting(t, s, r)
	}
	view(t, s, func(tx meetings.ReadTx) error {
		got, err := tx.Replicas(ctx, p1.ID)
		if err != nil {
			return err
		}
		if !slices.Equal(sortedCopy(got), sortedCopy(r1)) {
			t.Errorf("Replicas(p1) = %v, want %v", got, r1)
		}
		got, _ = tx.Replicas(ctx, p2.ID)
		if len(got) != 1 {
			t.Errorf("Replicas(p2) = %v", got)
		}
		got, _ = tx.Replicas(ctx, r1[0])
		if len(got) != 0 {
			t.Errorf("Replicas(replica) = %v", got)
		}
		// Meetings without a primary are not the replicas of "".
		got, _ = tx.Replicas(ctx, "")
		if len(got) != 0 {
			t.Errorf(`Replicas("") = %v`, got)
		}
		got, _ = tx.Replicas(ctx, strings.ToUpper(p1.ID))
		if len(got) != 0 {
			t.Errorf("Replicas(upper-case id) = %v", got)
		}
		return nil
	})
}

// The store compares ids as given; the domain lower-cases them.
func testIDsComparedAsGiven(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a := newAttendee(m.ID, "u")
	insertAttendee(t, s, &a)
	up := strings.ToUpper
	view(t, s, func(tx meetings.ReadTx) error {
		if _, err := tx.Meeting(ctx, up(m.ID)); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("Meeting(upper-case id) = %v, want ErrNoRecord", err)
		}
		if _, err := tx.Attendee(ctx, up(m.ID), a.ID); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("Attendee(upper-case meeting id) = %v, want ErrNoRecord", err)
		}
		if _, err := tx.Attendee(ctx, m.ID, up(a.ID)); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("Attendee(upper-case attendee id) = %v, want ErrNoRecord", err)
		}
		if _, err := tx.AttendeeByExternalUserID(ctx, m.ID, "U"); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("AttendeeByExternalUserID(U) = %v, want ErrNoRecord", err)
		}
		return nil
	})
	// An upper-case id is another meeting as far as the store knows.
	other := minimalMeeting()
	other.ID = up(m.ID)
	insertMeeting(t, s, other)
}

// ReadAttendee reads a meeting with one of its attendees: ErrNoRecord for an
// absent meeting, found=false (and a zero attendee) for an attendee that the
// meeting does not have; ids compare as given.
func testReadAttendee(t *testing.T, s meetings.Store) {
	full, minimal := fullMeeting(), minimalMeeting()
	insertMeeting(t, s, full)
	insertMeeting(t, s, minimal)
	a, b := newAttendee(full.ID, "a"), newAttendee(full.ID, "b")
	insertAttendee(t, s, &a)
	insertAttendee(t, s, &b)
	c := newAttendee(minimal.ID, "c")
	c.ID = b.ID // the same attendee id in another meeting
	c.Caps, c.CapsVersion = meetings.Capabilities{Audio: meetings.None, Video: meetings.None, Content: meetings.None}, 0
	insertAttendee(t, s, &c)

	read := func(what, meetingID, attendeeID string) (meetings.MeetingRecord, meetings.AttendeeRecord, bool) {
		t.Helper()
		m, got, found, err := s.ReadAttendee(ctx, meetingID, attendeeID)
		if err != nil {
			t.Fatalf("%s: ReadAttendee = %v", what, err)
		}
		if !found && got != (meetings.AttendeeRecord{}) {
			t.Errorf("%s: not found, but attendee %+v", what, got)
		}
		return m, got, found
	}
	for _, x := range []struct {
		what string
		m    meetings.MeetingRecord
		a    meetings.AttendeeRecord
	}{{"full meeting", full, a}, {"full meeting, second attendee", full, b}, {"minimal meeting", minimal, c}} {
		m, got, found := read(x.what, x.m.ID, x.a.ID)
		sameMeeting(t, x.what, m, x.m)
		if !found || got != x.a {
			t.Errorf("%s: attendee %+v (found %v), want %+v", x.what, got, found, x.a)
		}
	}
	for _, x := range []struct {
		what       string
		m          meetings.MeetingRecord
		attendeeID string
	}{
		{"unknown attendee", full, NewID()},
		{"attendee of another meeting", minimal, a.ID},
		{"upper-case attendee id", full, strings.ToUpper(a.ID)},
		{"empty attendee id", full, ""},
	} {
		m, _, found := read(x.what, x.m.ID, x.attendeeID)
		sameMeeting(t, x.what, m, x.m)
		if found {
			t.Errorf("%s: found", x.what)
		}
	}
	for _, id := range []string{NewID(), strings.ToUpper(full.ID), ""} {
		if _, _, _, err := s.ReadAttendee(ctx, id, a.ID); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("ReadAttendee(meeting %q) = %v, want ErrNoRecord", id, err)
		}
	}
	// It sees committed writes, and not the writes of a rolled-back Update.
	caps := meetings.Capabilities{Audio: meetings.Receive, Video: meetings.None, Content: meetings.None}
	update(t, s, func(tx meetings.Tx) error { return tx.SetAttendeeCaps(ctx, full.ID, a.ID, caps, 8) })
	errRollback := errors.New("roll back")
	if err := s.Update(ctx, func(tx meetings.Tx) error {
		if err := tx.DeleteAttendee(ctx, full.ID, a.ID); err != nil {
			return err
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatalf("Update = %v", err)
	}
	a.Caps, a.CapsVersion = caps, 8
	if _, got, found := read("after SetAttendeeCaps", full.ID, a.ID); !found || got != a {
		t.Errorf("after SetAttendeeCaps: %+v (found %v), want %+v", got, found, a)
	}
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteAttendee(ctx, full.ID, a.ID) })
	if _, _, found := read("after DeleteAttendee", full.ID, a.ID); found {
		t.Errorf("after DeleteAttendee: found")
	}
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteMeeting(ctx, full.ID) })
	if _, _, _, err := s.ReadAttendee(ctx, full.ID, b.ID); !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("after DeleteMeeting: %v, want ErrNoRecord", err)
	}
}

// ReadAttendee, repeated, sees each kind of write to the meeting or the
// attendee as soon as its Update returns (an engine that caches reads must
// forget them on every write it commits).
func testReadAttendeeSeesEveryWrite(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a, b := newAttendee(m.ID, "a"), newAttendee(m.ID, "b")
	insertAttendee(t, s, &a)
	read := func(what, attendeeID string) (meetings.MeetingRecord, meetings.AttendeeRecord, bool) {
		t.Helper()
		var ms []meetings.MeetingRecord
		var as []meetings.AttendeeRecord
		var founds []bool
		for range 2 { // the second read may come from a cache
			gotM, got, found, err := s.ReadAttendee(ctx, m.ID, attendeeID)
			if err != nil {
				t.Fatalf("%s: ReadAttendee = %v", what, err)
			}
			ms, as, founds = append(ms, gotM), append(as, got), append(founds, found)
		}
		sameMeeting(t, what+", second read", ms[1], ms[0])
		if as[1] != as[0] || founds[1] != founds[0] {
			t.Fatalf("%s: two reads differ: %+v (found %v), then %+v (found %v)", what, as[0], founds[0], as[1], founds[1])
		}
		return ms[1], as[1], founds[1]
	}
	read("before", a.ID)
	if _, _, found := read("before its insert", b.ID); found {
		t.Fatal("attendee b found before its insert")
	}
	insertAttendee(t, s, &b)
	if _, got, found := read("after InsertAttendee", b.ID); !found || got != b {
		t.Errorf("after InsertAttendee: %+v (found %v), want %+v", got, found, b)
	}

	batch := meetings.Capabilities{Audio: meetings.Send, Video: meetings.None, Content: meetings.None}
	update(t, s, func(tx meetings.Tx) error {
		cur, err := tx.LockMeeting(ctx, m.ID)
		if err != nil {
			return err
		}
		cur.Version, cur.Batch, cur.BatchVersion = 5, &batch, 5
		return tx.UpdateMeeting(ctx, cur)
	})
	if gotM, _, _ := read("after UpdateMeeting", a.ID); gotM.Version != 5 || gotM.Batch == nil || *gotM.Batch != batch || gotM.BatchVersion != 5 {
		t.Errorf("after UpdateMeeting: Version %d, Batch %v, BatchVersion %d; want 5, %v, 5", gotM.Version, gotM.Batch, gotM.BatchVersion, batch)
	}

	pins := map[string]meetings.Capabilities{a.ID: {Audio: meetings.Receive, Video: meetings.Receive, Content: meetings.None}}
	update(t, s, func(tx meetings.Tx) error {
		cur, err := tx.LockMeeting(ctx, m.ID)
		if err != nil {
			return err
		}
		cur.Version, cur.BatchVersion, cur.BatchPins = 6, 6, pins
		return tx.UpdateMeeting(ctx, cur)
	})
	if gotM, _, _ := read("after UpdateMeeting with pins", a.ID); !reflect.DeepEqual(gotM.BatchPins, pins) {
		t.Errorf("after UpdateMeeting with pins: BatchPins %v, want %v", gotM.BatchPins, pins)
	}
}

// Readers call ReadAttendee while a writer changes the attendee and the
// meeting together, and another writer's Updates share its group commits:
// every read is consistent (meeting Version equals the attendee's
// CapsVersion, both written in one Update), no reader sees a version go
// back, and the writer reads its own write as soon as its Update returns.
func testConcurrentReadAttendee(t *testing.T, s meetings.Store) {
	m, other := minimalMeeting(), minimalMeeting()
	insertMeeting(t, s, m)
	insertMeeting(t, s, other)
	a := newAttendee(m.ID, "a")
	a.CapsVersion = 0
	insertAttendee(t, s, &a)
	const writes, readers = 200, 4
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, readers+1)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last int64
			for {
				select {
				case <-stop:
					return
				default:
				}
				gotM, got, found, err := s.ReadAttendee(ctx, m.ID, a.ID)
				switch {
				case err != nil || !found:
					err = fmt.Errorf("ReadAttendee: found %v, %v", found, err)
				case gotM.Version != got.CapsVersion:
					err = fmt.Errorf("inconsistent read: meeting Version %d, attendee CapsVersion %d", gotM.Version, got.CapsVersion)
				case got.CapsVersion < last:
					err = fmt.Errorf("version went back from %d to %d", last, got.CapsVersion)
				}
				if err != nil {
					errs <- err
					return
				}
				last = got.CapsVersion
			}
		}()
	}
	wg.Add(1)
	go func() { // shares group commits with the writer below
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.Update(ctx, func(tx meetings.Tx) error {
				_, err := tx.InsertAttendee(ctx, newAttendee(other.ID, fmt.Sprint("o", i)))
				return err
			}); err != nil {
				errs <- err
				return
			}
		}
	}()
	caps := []meetings.Capabilities{
		{Audio: meetings.Send, Video: meetings.None, Content: meetings.None},
		{Audio: meetings.Receive, Video: meetings.Receive, Content: meetings.Receive},
	}
	for i := int64(1); i <= writes; i++ {
		update(t, s, func(tx meetings.Tx) error {
			cur, err := tx.LockMeeting(ctx, m.ID)
			if err != nil {
				return err
			}
			if err := tx.SetAttendeeCaps(ctx, m.ID, a.ID, caps[i%2], i); err != nil {
				return err
			}
			cur.Version = i
			return tx.UpdateMeeting(ctx, cur)
		})
		_, got, _, err := s.ReadAttendee(ctx, m.ID, a.ID)
		if err != nil || got.CapsVersion != i || got.Caps != caps[i%2] {
			t.Fatalf("after write %d: %+v, %v (a stale read)", i, got, err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Pinned: a View reads one snapshot, even if writes commit meanwhile.
func testViewSnapshot(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a := newAttendee(m.ID, "a")
	insertAttendee(t, s, &a)
	view(t, s, func(tx meetings.ReadTx) error {
		before, err := tx.Meeting(ctx, m.ID)
		if err != nil {
			return err
		}
		// Commit from another goroutine while this View is open.
		done := make(chan error, 1)
		go func() {
			done <- s.Update(ctx, func(w meetings.Tx) error {
				mm := m
				mm.Version = 5
				if err := w.UpdateMeeting(ctx, mm); err != nil {
					return err
				}
				_, err := w.InsertAttendee(ctx, newAttendee(m.ID, "b"))
				return err
			})
		}()
		if err := <-done; err != nil {
			t.Errorf("Update during View: %v", err)
		}
		after, err := tx.Meeting(ctx, m.ID)
		if err != nil {
			return err
		}
		if after.Version != before.Version {
			t.Errorf("View saw a write committed after its first read: Version %d then %d", before.Version, after.Version)
		}
		n, err := tx.CountAttendees(ctx, m.ID)
		if n != 1 {
			t.Errorf("View saw an attendee inserted after its first read: count %d", n)
		}
		return err
	})
	if got := getMeeting(t, s, m.ID); got.Version != 5 {
		t.Errorf("a new View reads Version %d, want 5", got.Version)
	}
}

func testPing(t *testing.T, s meetings.Store) {
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping = %v", err)
	}
}

// D10: N writers each read Version and write Version+1; none is lost.
func testConcurrentIncrements(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := s.Update(ctx, func(tx meetings.Tx) error {
					cur, err := tx.LockMeeting(ctx, m.ID)
					if err != nil {
						return err
					}
					cur.Version++
					cur.Batch = &meetings.Capabilities{Audio: "None", Video: "None", Content: "None"}
					cur.BatchVersion = cur.Version
					return tx.UpdateMeeting(ctx, cur)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Update: %v", err)
	}
	if got := getMeeting(t, s, m.ID); got.Version != workers*each || got.BatchVersion != workers*each {
		t.Errorf("Version = %d, BatchVersion = %d; want %d (lost updates)", got.Version, got.BatchVersion, workers*each)
	}
}

// Racing inserts of one ExternalUserId: exactly one wins, the others get
// ErrDuplicate.
func testConcurrentInsertSameExternalUserID(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	const workers = 8
	results := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = s.Update(ctx, func(tx meetings.Tx) error {
				_, err := tx.InsertAttendee(ctx, newAttendee(m.ID, "same-user"))
				return err
			})
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrDuplicate):
			t.Errorf("InsertAttendee = %v, want nil or ErrDuplicate", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d inserts succeeded, want exactly 1", ok)
	}
	view(t, s, func(tx meetings.ReadTx) error {
		n, err := tx.CountAttendees(ctx, m.ID)
		if n != 1 {
			t.Errorf("CountAttendees = %d, want 1", n)
		}
		return err
	})
}

// The domain's pattern (D15): lock the meeting, look the ExternalUserId up,
// create it if absent, run again once on ErrDuplicate. Every caller ends
// with the same attendee.
func testConcurrentGetOrCreate(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	const workers = 8
	ids := make([]string, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn := func(tx meetings.Tx) error {
				if _, err := tx.LockMeeting(ctx, m.ID); err != nil {
					return err
				}
				a, err := tx.AttendeeByExternalUserID(ctx, m.ID, "same-user")
				if err == nil {
					ids[i] = a.ID
					return nil
				}
				if !errors.Is(err, store.ErrNoRecord) {
					return err
				}
				a = newAttendee(m.ID, "same-user")
				if _, err := tx.InsertAttendee(ctx, a); err != nil {
					return err
				}
				ids[i] = a.ID
				return nil
			}
			err := s.Update(ctx, fn)
			if errors.Is(err, store.ErrDuplicate) {
				err = s.Update(ctx, fn)
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	for i := range ids {
		if ids[i] != ids[0] {
			t.Errorf("workers got different attendees: %v", ids)
			break
		}
	}
	view(t, s, func(tx meetings.ReadTx) error {
		n, err := tx.CountAttendees(ctx, m.ID)
		if n != 1 {
			t.Errorf("CountAttendees = %d, want 1", n)
		}
		return err
	})
}

// Readers run while a writer commits; every read sees a consistent state: the
// meeting's Version equals its attendee count (both change in one Update).
func testConcurrentReadersAndWriter(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	const writes, readers = 40, 4
	stop := make(chan struct{})
	var wg sync.WaitGroup
	readErrs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := s.View(ctx, func(tx meetings.ReadTx) error {
					mm, err := tx.Meeting(ctx, m.ID)
					if err != nil {
						return err
					}
					n, err := tx.CountAttendees(ctx, m.ID)
					if err != nil {
						return err
					}
					if int64(n) != mm.Version {
						return fmt.Errorf("inconsistent snapshot: Version %d, %d attendees", mm.Version, n)
					}
					return nil
				})
				if err != nil {
					readErrs <- err
					return
				}
			}
		}()
	}
	for i := range writes {
		update(t, s, func(tx meetings.Tx) error {
			cur, err := tx.LockMeeting(ctx, m.ID)
			if err != nil {
				return err
			}
			if _, err := tx.InsertAttendee(ctx, newAttendee(m.ID, fmt.Sprint("u", i))); err != nil {
				return err
			}
			cur.Version++
			return tx.UpdateMeeting(ctx, cur)
		})
	}
	close(stop)
	wg.Wait()
	close(readErrs)
	for err := range readErrs {
		t.Errorf("View: %v", err)
	}
}
