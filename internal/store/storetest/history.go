package storetest

// Conformance of meetings.HistoryReadTx / meetings.HistoryTx (audit history,
// per-account meeting count, account lock) and of access.Store, which every
// engine implements on its meetings.Store.
//
// Beyond the interfaces' doc comments, these subtests pin:
//   - View's transaction implements HistoryReadTx, Update's HistoryTx; the
//     engine's Store implements access.Store.
//   - AppendEvents sets events[i].Seq; Seq increases in append order across
//     meetings; events survive DeleteMeeting and may name a meeting that
//     never existed (no foreign key).
//   - Event Data: nil and empty are stored as NULL and read back as nil; a
//     JSON document comes back byte for byte; Data that is not JSON fails
//     AppendEvents. AttendeeID "" comes back as "".
//   - Events(limit <= 0) and Events of an unknown meeting return nothing, not
//     an error.
//   - CountMeetings is inclusive (created_at >= createdAfter), counts one
//     account only, sees the transaction's own inserts and forgets deleted
//     meetings.
//   - LockAccount may be taken twice on one account in one transaction.
//   - Access keys: Actions and MeetingARNs come back non-nil (nil and empty
//     both come back as []string{}); SealedSecret byte for byte; CreatedAt in
//     UTC to the microsecond; Keys ordered by CreatedAt then AccessKeyID in
//     byte order; a deleted key's id can be used again.

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

// historyTests are appended to Run's subtests.
var historyTests = []struct {
	name string
	fn   func(t *testing.T, s meetings.Store)
}{
	{"HistoryInterfaces", testHistoryInterfaces},
	{"EventsRoundTrip", testEventsRoundTrip},
	{"EventsPaging", testEventsPaging},
	{"EventsSurviveDeleteMeeting", testEventsSurviveDeleteMeeting},
	{"EventSeqStoreWide", testEventSeqStoreWide},
	{"AppendEventsRollback", testAppendEventsRollback},
	{"AppendEventsInvalidData", testAppendEventsInvalidData},
	{"CountMeetings", testCountMeetings},
	{"LockAccountSerializesCreations", testLockAccountSerializesCreations},
	{"AccessKeys", testAccessKeys},
	{"AccessKeysOrder", testAccessKeysOrder},
	{"AccessKeyLists", testAccessKeyLists},
}

// hist and histRead return the history side of a transaction, or an error
// (not t.Fatal: fn may run on an engine's goroutine).
func hist(tx meetings.Tx) (meetings.HistoryTx, error) {
	h, ok := tx.(meetings.HistoryTx)
	if !ok {
		return nil, fmt.Errorf("the transaction of Update, %T, does not implement meetings.HistoryTx", tx)
	}
	return h, nil
}

func histRead(tx meetings.ReadTx) (meetings.HistoryReadTx, error) {
	h, ok := tx.(meetings.HistoryReadTx)
	if !ok {
		return nil, fmt.Errorf("the transaction of View, %T, does not implement meetings.HistoryReadTx", tx)
	}
	return h, nil
}

func appendEvents(t *testing.T, s meetings.Store, events []meetings.Event) {
	t.Helper()
	update(t, s, func(tx meetings.Tx) error {
		h, err := hist(tx)
		if err != nil {
			return err
		}
		return h.AppendEvents(ctx, events)
	})
}

func getEvents(t *testing.T, s meetings.Store, meetingID string, afterSeq int64, limit int) []meetings.Event {
	t.Helper()
	var out []meetings.Event
	view(t, s, func(tx meetings.ReadTx) error {
		h, err := histRead(tx)
		if err != nil {
			return err
		}
		out, err = h.Events(ctx, meetingID, afterSeq, limit)
		return err
	})
	return out
}

func countMeetings(t *testing.T, s meetings.Store, account string, createdAfter time.Time) int {
	t.Helper()
	var n int
	view(t, s, func(tx meetings.ReadTx) error {
		h, err := histRead(tx)
		if err != nil {
			return err
		}
		n, err = h.CountMeetings(ctx, account, createdAfter)
		return err
	})
	return n
}

func newEvent(meetingID, typ string, i int) meetings.Event {
	return meetings.Event{
		MeetingID:   meetingID,
		Time:        base.Add(time.Duration(i) * time.Second),
		RequestID:   "req-" + NewID(),
		AccessKeyID: "AKIDEXAMPLE",
		Type:        typ,
		Data:        []byte(fmt.Sprintf(`{"i":%d}`, i)),
	}
}

// sameEvents compares events: Time by instant (and UTC), Data by bytes
// (nil and empty alike), everything else exactly.
func sameEvents(t *testing.T, what string, got, want []meetings.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d events, want %d:\n got Seqs %v\nwant Seqs %v", what, len(got), len(want), seqs(got), seqs(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) || g.Time.Location() != time.UTC {
			t.Errorf("%s: event %d: Time = %v, want %v in UTC", what, i, g.Time, w.Time)
		}
		if !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s: event %d: Data = %q, want %q", what, i, g.Data, w.Data)
		}
		g.Time, w.Time, g.Data, w.Data = time.Time{}, time.Time{}, nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: event %d:\n got %s\nwant %s", what, i, dump(g), dump(w))
		}
	}
}

func seqs(events []meetings.Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

func increasing(s []int64) bool {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return false
		}
	}
	return true
}

// ---- history ----

func testHistoryInterfaces(t *testing.T, s meetings.Store) {
	update(t, s, func(tx meetings.Tx) error {
		_, err := hist(tx)
		return err
	})
	view(t, s, func(tx meetings.ReadTx) error {
		_, err := histRead(tx)
		return err
	})
	if _, ok := s.(access.Store); !ok {
		t.Errorf("%T does not implement access.Store", s)
	}
}

func testEventsRoundTrip(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a := NewID()
	events := []meetings.Event{
		{
			MeetingID: m.ID, Time: base, RequestID: "req-1", AccessKeyID: "AKIDROOT", Type: "MeetingCreated",
			Data: []byte(`{"Capabilities": {"Audio":"SendReceive"},  "z":1, "a":[1, 2]}`), // kept byte for byte
		},
		{
			MeetingID: m.ID, Time: time.Date(2025, 1, 2, 3, 4, 5, 678_912_000, time.FixedZone("X", 5*3600+1800)),
			RequestID: "req-2", AccessKeyID: "AKIDOTHER", Type: "AttendeeCapabilitiesUpdated", AttendeeID: a,
			Data: []byte(`{"Old":{"Audio":"SendReceive","Video":"None","Content":"None"},"New":{"Audio":"Receive","Video":"None","Content":"None"}}`),
		},
		{MeetingID: m.ID, Time: base.Add(time.Microsecond), RequestID: "req-3", Type: "NoData"},             // nil Data
		{MeetingID: m.ID, Time: base.Add(time.Hour), RequestID: "req-4", Type: "EmptyData", Data: []byte{}}, // empty: read back nil
	}
	update(t, s, func(tx meetings.Tx) error {
		h, err := hist(tx)
		if err != nil {
			return err
		}
		if err := h.AppendEvents(ctx, events); err != nil {
			return err
		}
		// Visible inside the appending transaction.
		got, err := h.Events(ctx, m.ID, 0, 10)
		if err != nil {
			return err
		}
		if len(got) != len(events) {
			t.Errorf("Events in the appending Update: %d events, want %d", len(got), len(events))
		}
		return nil
	})
	if got := seqs(events); got[0] <= 0 || !increasing(got) {
		t.Errorf("AppendEvents set Seqs %v, want positive and increasing", got)
	}
	want := slicesClone(events)
	want[3].Data = nil
	sameEvents(t, "Events", getEvents(t, s, m.ID, 0, 10), want)

	// An empty append is a no-op.
	appendEvents(t, s, nil)
	appendEvents(t, s, []meetings.Event{})
	if got := getEvents(t, s, m.ID, 0, 10); len(got) != len(events) {
		t.Errorf("after empty appends: %d events, want %d", len(got), len(events))
	}
	// Nothing for other meetings, nothing for limit <= 0.
	if got := getEvents(t, s, NewID(), 0, 10); len(got) != 0 {
		t.Errorf("Events(unknown meeting) = %s, want none", dump(got))
	}
	if got := getEvents(t, s, m.ID, 0, 0); len(got) != 0 {
		t.Errorf("Events(limit 0) = %s, want none", dump(got))
	}
	if got := getEvents(t, s, m.ID, 0, -1); len(got) != 0 {
		t.Errorf("Events(limit -1) = %s, want none", dump(got))
	}
}

func slicesClone(e []meetings.Event) []meetings.Event { return append([]meetings.Event(nil), e...) }

func testEventsPaging(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	var all []meetings.Event
	// Small appends, then one as large as a batch update of a full meeting.
	for _, n := range []int{3, 1, 3, 3, 300} {
		events := make([]meetings.Event, n)
		for i := range events {
			events[i] = newEvent(m.ID, "T", len(all)+i)
		}
		appendEvents(t, s, events)
		all = append(all, events...)
	}
	if !increasing(seqs(all)) {
		t.Fatalf("Seqs %v not increasing", seqs(all))
	}
	var paged []meetings.Event
	after := int64(0)
	for range 100 {
		page := getEvents(t, s, m.ID, after, 7)
		if len(page) > 7 {
			t.Fatalf("page of %d events, limit 7", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	sameEvents(t, "paged Events", paged, all)
	// afterSeq is exclusive.
	sameEvents(t, "Events after the 4th", getEvents(t, s, m.ID, all[3].Seq, 1000), all[4:])
	sameEvents(t, "Events after the last", getEvents(t, s, m.ID, all[len(all)-1].Seq, 1000), nil)
}

func testEventsSurviveDeleteMeeting(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	a := newAttendee(m.ID, "u1")
	insertAttendee(t, s, &a)
	events := []meetings.Event{newEvent(m.ID, "MeetingCreated", 0), newEvent(m.ID, "AttendeeCreated", 1)}
	events[1].AttendeeID = a.ID
	appendEvents(t, s, events)
	// Deleted in the same Update as an event is appended for it.
	del := []meetings.Event{newEvent(m.ID, "MeetingDeleted", 2)}
	update(t, s, func(tx meetings.Tx) error {
		h, err := hist(tx)
		if err != nil {
			return err
		}
		if err := tx.DeleteMeeting(ctx, m.ID); err != nil {
			return err
		}
		return h.AppendEvents(ctx, del)
	})
	sameEvents(t, "Events after DeleteMeeting", getEvents(t, s, m.ID, 0, 10), append(events, del...))

	// No foreign key: a meeting that never existed may have events.
	ghost := []meetings.Event{newEvent(NewID(), "T", 0)}
	appendEvents(t, s, ghost)
	sameEvents(t, "Events of a meeting that never existed", getEvents(t, s, ghost[0].MeetingID, 0, 10), ghost)
}

func testEventSeqStoreWide(t *testing.T, s meetings.Store) {
	ma, mb := minimalMeeting(), minimalMeeting()
	insertMeeting(t, s, ma)
	insertMeeting(t, s, mb)
	var all []meetings.Event
	for i := range 6 {
		id := ma.ID
		if i%2 == 1 {
			id = mb.ID
		}
		// Two events for one meeting and one for the other in one append.
		events := []meetings.Event{newEvent(id, "T", i), newEvent(ma.ID, "T", i), newEvent(id, "T", i)}
		appendEvents(t, s, events)
		all = append(all, events...)
	}
	if !increasing(seqs(all)) {
		t.Errorf("Seqs across meetings and appends = %v, want increasing", seqs(all))
	}
	// Each meeting's events in Seq order.
	for _, id := range []string{ma.ID, mb.ID} {
		var want []meetings.Event
		for _, e := range all {
			if e.MeetingID == id {
				want = append(want, e)
			}
		}
		sameEvents(t, "Events of meeting "+id, getEvents(t, s, id, 0, 100), want)
	}
	// A Seq is never handed out again, even after its meeting is gone.
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteMeeting(ctx, mb.ID) })
	last := []meetings.Event{newEvent(mb.ID, "T", 99)}
	appendEvents(t, s, last)
	if last[0].Seq <= all[len(all)-1].Seq {
		t.Errorf("Seq after DeleteMeeting = %d, want above %d", last[0].Seq, all[len(all)-1].Seq)
	}
}

func testAppendEventsRollback(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	kept := []meetings.Event{newEvent(m.ID, "Kept", 0)}
	appendEvents(t, s, kept)

	errBoom := errors.New("boom")
	err := s.Update(ctx, func(tx meetings.Tx) error {
		h, err := hist(tx)
		if err != nil {
			return err
		}
		if err := h.AppendEvents(ctx, []meetings.Event{newEvent(m.ID, "Lost", 1), newEvent(m.ID, "Lost", 2)}); err != nil {
			return err
		}
		if err := tx.InsertMeeting(ctx, minimalMeeting()); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want the fn's error", err)
	}
	sameEvents(t, "Events after a rolled-back append", getEvents(t, s, m.ID, 0, 10), kept)

	// Rolled-back Updates beside committed ones (an engine may commit them
	// in one transaction): only the committed ones' events remain.
	const workers = 8
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx meetings.Tx) error {
				h, err := hist(tx)
				if err != nil {
					return err
				}
				typ := "Kept"
				if i%2 == 1 {
					typ = "Lost"
				}
				if err := h.AppendEvents(ctx, []meetings.Event{newEvent(m.ID, typ, i)}); err != nil {
					return err
				}
				if i%2 == 1 {
					return errBoom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%2 == 1; errors.Is(err, errBoom) != want || (!want && err != nil) {
			t.Errorf("worker %d: Update = %v", i, err)
		}
	}
	got := getEvents(t, s, m.ID, 0, 100)
	if len(got) != 1+workers/2 {
		t.Errorf("%d events, want %d", len(got), 1+workers/2)
	}
	for _, e := range got {
		if e.Type != "Kept" {
			t.Errorf("event %d of a rolled-back Update survived: %s", e.Seq, dump(e))
		}
	}
	if !increasing(seqs(got)) {
		t.Errorf("Seqs %v not increasing", seqs(got))
	}
}

func testAppendEventsInvalidData(t *testing.T, s meetings.Store) {
	m := minimalMeeting()
	insertMeeting(t, s, m)
	for _, data := range []string{`{"a":`, `not json`, `{"a":1} {"b":2}`} {
		err := s.Update(ctx, func(tx meetings.Tx) error {
			h, err := hist(tx)
			if err != nil {
				return err
			}
			e := newEvent(m.ID, "Bad", 0)
			e.Data = []byte(data)
			return h.AppendEvents(ctx, []meetings.Event{newEvent(m.ID, "Good", 1), e})
		})
		if err == nil {
			t.Errorf("AppendEvents(Data %q) = nil, want an error", data)
		}
	}
	if got := getEvents(t, s, m.ID, 0, 10); len(got) != 0 {
		t.Errorf("events after failed appends: %s", dump(got))
	}
}

func testCountMeetings(t *testing.T, s meetings.Store) {
	const acct, other = "111122223333", "444455556666"
	at := func(account string, created time.Time) meetings.MeetingRecord {
		m := minimalMeeting()
		m.Account, m.CreatedAt = account, created
		return m
	}
	before := at(acct, base.Add(-time.Microsecond))
	exact := at(acct, base)
	later := at(acct, base.Add(time.Hour))
	zoned := at(acct, base.Add(2*time.Hour).In(time.FixedZone("Y", -7*3600)))
	elsewhere := at(other, base)
	update(t, s, func(tx meetings.Tx) error {
		h, err := hist(tx)
		if err != nil {
			return err
		}
		for _, m := range []meetings.MeetingRecord{before, exact, later, zoned, elsewhere} {
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
		}
		// The transaction's own inserts count.
		if n, err := h.CountMeetings(ctx, acct, base); err != nil || n != 3 {
			t.Errorf("CountMeetings in the inserting Update = %d, %v; want 3", n, err)
		}
		return nil
	})
	for _, c := range []struct {
		account string
		after   time.Time
		want    int
	}{
		{acct, time.Time{}, 4},
		{acct, base.Add(-time.Microsecond), 4},
		{acct, base, 3}, // inclusive
		{acct, base.Add(time.Microsecond), 2},
		{acct, base.Add(time.Hour), 2},
		{acct, base.Add(time.Hour + time.Microsecond), 1},
		{acct, base.Add(2 * time.Hour).In(time.FixedZone("Z", 3600)), 1}, // same instant, another zone
		{acct, base.Add(3 * time.Hour), 0},
		{other, base, 1},
		{other, base.Add(time.Microsecond), 0},
		{"999999999999", time.Time{}, 0},
	} {
		if got := countMeetings(t, s, c.account, c.after); got != c.want {
			t.Errorf("CountMeetings(%s, %v) = %d, want %d", c.account, c.after, got, c.want)
		}
	}
	update(t, s, func(tx meetings.Tx) error { return tx.DeleteMeeting(ctx, exact.ID) })
	if got := countMeetings(t, s, acct, base); got != 2 {
		t.Errorf("CountMeetings after DeleteMeeting = %d, want 2", got)
	}
}

// The --max-meetings pattern: lock the account, count, insert when under the
// limit. However many Updates race, the limit holds exactly.
func testLockAccountSerializesCreations(t *testing.T, s meetings.Store) {
	const acct, limit, workers = "111122223333", 5, 16
	since := base.Add(-24 * time.Hour)
	// Warm-up: an engine with a connection pool opens several connections
	// now, so that the workers below really run at the same time.
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.View(ctx, func(meetings.ReadTx) error { time.Sleep(20 * time.Millisecond); return nil })
		}()
	}
	wg.Wait()
	start := make(chan struct{})
	errs := make([]error, workers)
	created := make([]bool, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Update(ctx, func(tx meetings.Tx) error {
				created[i] = false
				h, err := hist(tx)
				if err != nil {
					return err
				}
				if err := h.LockAccount(ctx, acct); err != nil {
					return err
				}
				// Also a lock on another account, and the same one again:
				// neither blocks this transaction.
				if err := h.LockAccount(ctx, fmt.Sprint("other-", i)); err != nil {
					return err
				}
				if err := h.LockAccount(ctx, acct); err != nil {
					return err
				}
				n, err := h.CountMeetings(ctx, acct, since)
				if err != nil {
					return err
				}
				if n >= limit {
					return nil
				}
				// Widen the window between count and insert.
				time.Sleep(5 * time.Millisecond)
				m := minimalMeeting()
				m.Account = acct
				if err := tx.InsertMeeting(ctx, m); err != nil {
					return err
				}
				created[i] = true
				return nil
			})
		}()
	}
	close(start)
	wg.Wait()
	n := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
		if created[i] {
			n++
		}
	}
	if got := countMeetings(t, s, acct, since); got != limit || n != limit {
		t.Errorf("%d meetings exist, %d Updates created one; want exactly %d", got, n, limit)
	}
}

// ---- access keys ----

func accessStore(t *testing.T, s meetings.Store) access.Store {
	t.Helper()
	ks, ok := s.(access.Store)
	if !ok {
		t.Fatalf("%T does not implement access.Store", s)
	}
	return ks
}

func sameKey(t *testing.T, what string, got, want access.Key) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("%s: CreatedAt = %v, want %v in UTC", what, got.CreatedAt, want.CreatedAt)
	}
	got.CreatedAt, want.CreatedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, dump(got), dump(want))
	}
}

func newKey(id string, created time.Time) access.Key {
	return access.Key{
		AccessKeyID:  id,
		Name:         "key " + id,
		SealedSecret: []byte("sealed\x00\xff" + id),
		Actions:      []string{"chime:GetMeeting", "chime:Get*"},
		MeetingARNs:  []string{"arn:aws:chime:us-east-1:111122223333:meeting/*"},
		CreatedAt:    created,
	}
}

func testAccessKeys(t *testing.T, s meetings.Store) {
	ks := accessStore(t, s)
	if got, err := ks.Keys(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Keys on an empty store = %s, %v; want none", dump(got), err)
	}
	k := newKey("AKIACARILLON0000001", time.Date(2025, 1, 2, 3, 4, 5, 678_912_000, time.FixedZone("X", 5*3600+1800)))
	if err := ks.InsertKey(ctx, k); err != nil {
		t.Fatalf("InsertKey: %v", err)
	}
	got, err := ks.Key(ctx, k.AccessKeyID)
	if err != nil {
		t.Fatalf("Key: %v", err)
	}
	sameKey(t, "Key", got, k)

	dup := newKey(k.AccessKeyID, base)
	dup.Name = "other"
	if err := ks.InsertKey(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("InsertKey(taken id) = %v, want ErrDuplicate", err)
	}
	if got, err := ks.Key(ctx, k.AccessKeyID); err != nil || got.Name != k.Name {
		t.Errorf("after a duplicate insert: Key = %s, %v; want the first key", dump(got), err)
	}
	// Ids compare byte for byte.
	if _, err := ks.Key(ctx, "akiacarillon0000001"); !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("Key(lower-cased id) = %v, want ErrNoRecord", err)
	}
	if _, err := ks.Key(ctx, "AKIAUNKNOWN"); !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("Key(unknown) = %v, want ErrNoRecord", err)
	}
	if err := ks.DeleteKey(ctx, "AKIAUNKNOWN"); !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("DeleteKey(unknown) = %v, want ErrNoRecord", err)
	}
	if err := ks.DeleteKey(ctx, k.AccessKeyID); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	if _, err := ks.Key(ctx, k.AccessKeyID); !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("Key(deleted) = %v, want ErrNoRecord", err)
	}
	if err := ks.DeleteKey(ctx, k.AccessKeyID); !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("DeleteKey(deleted) = %v, want ErrNoRecord", err)
	}
	if got, err := ks.Keys(ctx); err != nil || len(got) != 0 {
		t.Errorf("Keys after DeleteKey = %s, %v; want none", dump(got), err)
	}
	// The id may be used again.
	if err := ks.InsertKey(ctx, dup); err != nil {
		t.Fatalf("InsertKey(id of a deleted key): %v", err)
	}
	if got, err := ks.Key(ctx, dup.AccessKeyID); err != nil {
		t.Errorf("Key: %v", err)
	} else {
		sameKey(t, "Key reinserted", got, dup)
	}
	// Keys live beside meetings, not in them.
	insertMeeting(t, s, minimalMeeting())
	if got, err := ks.Keys(ctx); err != nil || len(got) != 1 {
		t.Errorf("Keys = %s, %v; want 1 key", dump(got), err)
	}
}

func testAccessKeysOrder(t *testing.T, s meetings.Store) {
	ks := accessStore(t, s)
	// Inserted out of order; same CreatedAt ties broken by id in byte order
	// ("B" < "a").
	want := []access.Key{
		newKey("AKIA0000000000000002", base.Add(-time.Hour)),
		newKey("AKIA0000000000000001", base),
		newKey("AKIAB", base),
		newKey("AKIAa", base),
		newKey("AKIA0000000000000000", base.Add(time.Microsecond)),
	}
	for _, i := range []int{3, 4, 1, 0, 2} {
		if err := ks.InsertKey(ctx, want[i]); err != nil {
			t.Fatalf("InsertKey: %v", err)
		}
	}
	got, err := ks.Keys(ctx)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Keys = %d keys, want %d: %s", len(got), len(want), dump(got))
	}
	for i := range want {
		sameKey(t, fmt.Sprint("Keys[", i, "]"), got[i], want[i])
	}
}

func testAccessKeyLists(t *testing.T, s meetings.Store) {
	ks := accessStore(t, s)
	nilLists := newKey("AKIANIL", base)
	nilLists.Actions, nilLists.MeetingARNs = nil, nil
	empty := newKey("AKIAEMPTY", base)
	empty.Actions, empty.MeetingARNs = []string{}, []string{}
	odd := newKey("AKIAODD", base)
	odd.Name = ""
	odd.Actions = []string{"chime:*", `quote " and \ backslash`, "ünïcödé"}
	odd.MeetingARNs = []string{"b", "a", "b"} // order and repeats kept
	for _, k := range []access.Key{nilLists, empty, odd} {
		if err := ks.InsertKey(ctx, k); err != nil {
			t.Fatalf("InsertKey(%s): %v", k.AccessKeyID, err)
		}
	}
	for _, k := range []access.Key{nilLists, empty} {
		got, err := ks.Key(ctx, k.AccessKeyID)
		if err != nil {
			t.Fatalf("Key: %v", err)
		}
		if got.Actions == nil || len(got.Actions) != 0 || got.MeetingARNs == nil || len(got.MeetingARNs) != 0 {
			t.Errorf("%s: Actions %#v, MeetingARNs %#v; want both []string{}", k.AccessKeyID, got.Actions, got.MeetingARNs)
		}
	}
	got, err := ks.Key(ctx, odd.AccessKeyID)
	if err != nil {
		t.Fatalf("Key: %v", err)
	}
	sameKey(t, "Key with odd lists", got, odd)
}
