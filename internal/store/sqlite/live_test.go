package sqlite

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// checkLive fails unless every meeting the live state holds is exactly what
// the database holds: the meeting row and the whole set of its attendees.
// It must run while no Update is in flight.
func checkLive(t *testing.T, s *Store) {
	t.Helper()
	s.live.mu.RLock()
	held := make(map[string]*liveMeeting, len(s.live.meetings))
	size := 0
	for id, lm := range s.live.meetings {
		held[id] = lm
		size += len(lm.attendees)
	}
	recorded := s.live.size
	s.live.mu.RUnlock()
	if size != recorded {
		t.Errorf("live state counts %d attendees, holds %d", recorded, size)
	}
	if size > s.live.max {
		t.Errorf("live state holds %d attendees, bound %d", size, s.live.max)
	}
	ctx := context.Background()
	err := s.View(ctx, func(rt meetings.ReadTx) error {
		for id, lm := range held {
			m, err := rt.Meeting(ctx, id)
			if err != nil {
				return fmt.Errorf("held meeting %s: %w", id, err)
			}
			if !reflect.DeepEqual(lm.m, m) {
				t.Errorf("meeting %s:\nheld     %+v\ndatabase %+v", id, lm.m, m)
			}
			as, err := rt.Attendees(ctx, id, 0, 1<<20)
			if err != nil {
				return err
			}
			if len(as) != len(lm.attendees) {
				t.Errorf("meeting %s: %d attendees held, %d in the database", id, len(lm.attendees), len(as))
			}
			for _, a := range as {
				la, ok := lm.attendees[a.ID]
				if got := la.record(id, a.ID); !ok || got != a {
					t.Errorf("meeting %s attendee %s: held %+v (%v), database %+v", id, a.ID, got, ok, a)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var errRefused = errors.New("refused on purpose")

// Many writers change a few meetings at random, through the domain's usual
// shapes of transaction (lock the meeting, write attendees, update the
// meeting), some of them failing on purpose after they wrote (so that their
// savepoint is rolled back within a group), while readers call ReadAttendee
// and the bound is small enough that meetings are evicted and loaded again.
// Afterwards the live state must equal the database, and during the run
// LockMeeting must always equal the meeting as SQL reads it in the same
// transaction.
func TestLiveStateMatchesDatabase(t *testing.T) {
	for _, bound := range []int{1 << 20, 25} {
		t.Run(fmt.Sprintf("bound=%d", bound), func(t *testing.T) {
			s, err := Open(context.Background(), Options{Dir: filepath.Join(t.TempDir(), "data"), LiveAttendees: bound})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			runLiveWorkload(t, s, 4, 120)
			checkLive(t, s)
			if t.Failed() {
				return
			}
			// And again after the store is opened anew: nothing is held
			// until readers ask for it.
			dir := filepath.Dir(s.Path())
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(context.Background(), Options{Dir: dir, LiveAttendees: bound})
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if n := len(s2.live.meetings); n != 0 {
				t.Fatalf("a reopened store holds %d meetings before any read", n)
			}
			runLiveWorkload(t, s2, 4, 40)
			checkLive(t, s2)
		})
	}
}

// runLiveWorkload runs writers goroutines of ops operations each, plus two
// readers, on a handful of meetings.
func runLiveWorkload(t *testing.T, s *Store, writers, ops int) {
	t.Helper()
	ctx := context.Background()
	var ids []string
	if err := s.View(ctx, func(rt meetings.ReadTx) error {
		var err error
		ids, err = rt.ExpiredMeetings(ctx, time.Now().Add(time.Hour), 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for len(ids) < 5 {
		m := storetest.NewMeetingRecord()
		if err := s.Update(ctx, func(tx meetings.Tx) error { return tx.InsertMeeting(ctx, m) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	stop := make(chan struct{})
	var readers, wg sync.WaitGroup
	errs := make(chan error, writers+2)
	for r := range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 99))
			for {
				select {
				case <-stop:
					return
				default:
				}
				m, a, found, err := s.ReadAttendee(ctx, ids[rng.IntN(len(ids))], storetest.NewID())
				if err == nil && found {
					err = fmt.Errorf("ReadAttendee found %+v for a new id", a)
				}
				if err != nil && !errors.Is(err, store.ErrNoRecord) {
					errs <- err
					return
				}
				if err == nil {
					// Read an attendee that exists, if any.
					var as []meetings.AttendeeRecord
					if err := s.View(ctx, func(rt meetings.ReadTx) error {
						as, err = rt.Attendees(ctx, m.ID, 0, 5)
						return err
					}); err != nil {
						errs <- err
						return
					}
					if len(as) > 0 {
						if _, _, found, err := s.ReadAttendee(ctx, m.ID, as[0].ID); err != nil || !found {
							// It may have been deleted since; anything else is wrong.
							if err != nil {
								errs <- err
								return
							}
						}
					}
				}
			}
		}()
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range ops {
				id := ids[rng.IntN(len(ids))]
				op := rng.IntN(6)
				fail := rng.IntN(5) == 0
				err := s.Update(ctx, func(tx meetings.Tx) error { return liveOp(ctx, tx, id, op, rng) })
				if fail {
					err = s.Update(ctx, func(tx meetings.Tx) error {
						if err := liveOp(ctx, tx, id, op, rng); err != nil {
							return err
						}
						return errRefused
					})
					if errors.Is(err, errRefused) {
						err = nil
					}
				}
				if err != nil && !errors.Is(err, store.ErrNoRecord) {
					errs <- fmt.Errorf("op %d on %s: %w", op, id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// liveOp is one transaction of the workload.
func liveOp(ctx context.Context, tx meetings.Tx, meetingID string, op int, rng *rand.Rand) error {
	m, err := tx.LockMeeting(ctx, meetingID)
	if err != nil {
		return err
	}
	sqlM, err := tx.Meeting(ctx, meetingID)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(m, sqlM) {
		return fmt.Errorf("LockMeeting %+v, SQL %+v", m, sqlM)
	}
	as, err := tx.Attendees(ctx, meetingID, 0, 1000)
	if err != nil {
		return err
	}
	pick := func() string {
		if len(as) == 0 {
			return storetest.NewID()
		}
		return as[rng.IntN(len(as))].ID
	}
	caps := []meetings.Capabilities{
		{Audio: meetings.SendReceive, Video: meetings.SendReceive, Content: meetings.SendReceive},
		{Audio: meetings.Send, Video: meetings.None, Content: meetings.None},
		{Audio: meetings.Receive, Video: meetings.Receive, Content: meetings.Receive},
	}[rng.IntN(3)]
	version := m.Version + 1
	switch op {
	case 0, 1: // a few attendees
		for range 1 + rng.IntN(4) {
			a := meetings.AttendeeRecord{MeetingID: meetingID, ID: storetest.NewID(), ExternalUserID: storetest.NewID(),
				JoinToken: "jt", Caps: caps, CapsVersion: version}
			if _, err := tx.InsertAttendee(ctx, a); err != nil {
				return err
			}
		}
	case 2: // one attendee's capabilities
		if err := tx.SetAttendeeCaps(ctx, meetingID, pick(), caps, version); err != nil && !errors.Is(err, store.ErrNoRecord) {
			return err
		}
	case 3: // a batch with exclusions, as the domain writes it
		ids := []string{pick(), pick(), storetest.NewID()}
		if ids[0] == ids[1] {
			ids = ids[1:]
		}
		found, err := tx.AttendeesByID(ctx, meetingID, ids)
		if err != nil {
			return err
		}
		for _, a := range found { // against SQL
			if sqlA, err := tx.Attendee(ctx, meetingID, a.ID); err != nil || sqlA != a {
				return fmt.Errorf("AttendeesByID %+v, SQL %+v (%v)", a, sqlA, err)
			}
		}
		m.Batch, m.BatchVersion, m.BatchPins = &caps, version, meetings.PinsFor(&m, found)
	case 4:
		if err := tx.DeleteAttendee(ctx, meetingID, pick()); err != nil && !errors.Is(err, store.ErrNoRecord) {
			return err
		}
	case 5: // the meeting goes and comes back, empty, under the same id
		if err := tx.DeleteMeeting(ctx, meetingID); err != nil {
			return err
		}
		fresh := storetest.NewMeetingRecord()
		fresh.ID = meetingID
		if err := tx.InsertMeeting(ctx, fresh); err != nil {
			return err
		}
		return nil
	}
	m.Version = version
	m.Transcribing = !m.Transcribing
	return tx.UpdateMeeting(ctx, m)
}

// A reader that misses a meeting gets its answer from SQL and has the
// writer load the meeting whole; then reads come from memory.
func TestLiveStateLoadsOnMiss(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	s := openDir(t, dir)
	m := storetest.NewMeetingRecord()
	var as []meetings.AttendeeRecord
	if err := s.Update(ctx, func(tx meetings.Tx) error {
		if err := tx.InsertMeeting(ctx, m); err != nil {
			return err
		}
		for i := range 30 {
			a := meetings.AttendeeRecord{MeetingID: m.ID, ID: storetest.NewID(), ExternalUserID: fmt.Sprint(i), JoinToken: "jt",
				Caps: meetings.Capabilities{Audio: meetings.SendReceive, Video: meetings.None, Content: meetings.None}}
			seq, err := tx.InsertAttendee(ctx, a)
			if err != nil {
				return err
			}
			a.Seq = seq
			as = append(as, a)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !s.live.holds(m.ID) || len(s.live.meetings[m.ID].attendees) != 30 {
		t.Fatal("a meeting written by this process is not held whole")
	}
	s.Close()

	s = openDir(t, dir)
	defer s.Close()
	_, got, found, err := s.ReadAttendee(ctx, m.ID, as[7].ID)
	if err != nil || !found || got != as[7] {
		t.Fatalf("ReadAttendee = %+v, %v, %v; want %+v", got, found, err, as[7])
	}
	deadline := time.Now().Add(5 * time.Second)
	for !func() bool { s.live.mu.RLock(); defer s.live.mu.RUnlock(); return s.live.meetings[m.ID] != nil }() {
		if time.Now().After(deadline) {
			t.Fatal("the meeting was not loaded after a miss")
		}
		time.Sleep(time.Millisecond)
	}
	checkLive(t, s)
	for _, a := range as {
		_, got, found, err := s.ReadAttendee(ctx, m.ID, a.ID)
		if err != nil || !found || got != a {
			t.Fatalf("ReadAttendee from memory = %+v, %v, %v; want %+v", got, found, err, a)
		}
	}
	// A missing attendee of a held meeting: found false, no error.
	if _, _, found, err := s.ReadAttendee(ctx, m.ID, storetest.NewID()); err != nil || found {
		t.Fatalf("ReadAttendee of an unknown attendee = %v, %v; want not found", found, err)
	}
}

// The bound holds: past it whole meetings go, a meeting larger than the
// bound is never held, and reads stay right either way.
func TestLiveStateBound(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: filepath.Join(t.TempDir(), "data"), LiveAttendees: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids []string
	for _, size := range []int{12, 4, 4, 4} {
		m := storetest.NewMeetingRecord()
		ids = append(ids, m.ID)
		if err := s.Update(ctx, func(tx meetings.Tx) error {
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
			for i := range size {
				a := meetings.AttendeeRecord{MeetingID: m.ID, ID: storetest.NewID(), ExternalUserID: fmt.Sprint(i), JoinToken: "jt",
					Caps: meetings.Capabilities{Audio: meetings.SendReceive, Video: meetings.None, Content: meetings.None}}
				if _, err := tx.InsertAttendee(ctx, a); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		checkLive(t, s)
	}
	if s.live.holds(ids[0]) {
		t.Error("a meeting of 12 attendees is held with a bound of 10")
	}
	held := 0
	for _, id := range ids[1:] {
		if s.live.holds(id) {
			held++
		}
	}
	if held != 2 {
		t.Errorf("%d meetings of 4 held with a bound of 10, want 2", held)
	}
	// Every attendee still reads right.
	for _, id := range ids {
		var as []meetings.AttendeeRecord
		if err := s.View(ctx, func(rt meetings.ReadTx) (err error) {
			as, err = rt.Attendees(ctx, id, 0, 100)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if _, got, found, err := s.ReadAttendee(ctx, id, a.ID); err != nil || !found || got != a {
				t.Fatalf("ReadAttendee = %+v, %v, %v; want %+v", got, found, err, a)
			}
		}
	}
	checkLive(t, s)
}

// Attendees pack (and give back exactly what was put) whatever their
// capabilities and token; the domain's shapes pack small.
func TestLiveAttendeePacking(t *testing.T) {
	id := storetest.NewID()
	domainToken := base64.RawURLEncoding.EncodeToString([]byte(id + ":" + strings.Repeat("0f", 16)))
	caps := meetings.Capabilities{Audio: meetings.SendReceive, Video: meetings.Receive, Content: meetings.None}
	for _, tc := range []struct {
		name   string
		token  string
		caps   meetings.Capabilities
		packed bool
	}{
		{"domain token", domainToken, caps, true},
		{"upper-case hex", base64.RawURLEncoding.EncodeToString([]byte(id + ":" + strings.Repeat("0F", 16))), caps, false},
		{"another attendee's token", base64.RawURLEncoding.EncodeToString([]byte(storetest.NewID() + ":" + strings.Repeat("0f", 16))), caps, false},
		{"trailing data", domainToken + "AA", caps, false},
		{"empty token", "", caps, false},
		{"opaque token", "jt-1", caps, false},
		{"unknown capability", domainToken, meetings.Capabilities{Audio: "Loud", Video: meetings.None, Content: meetings.None}, false},
		{"empty capability", domainToken, meetings.Capabilities{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := meetings.AttendeeRecord{MeetingID: "m", ID: id, ExternalUserID: "u", JoinToken: tc.token, Seq: 9, Caps: tc.caps, CapsVersion: 4}
			la := packAttendee(a)
			if got := la.record("m", id); got != a {
				t.Fatalf("record = %+v, want %+v", got, a)
			}
			if packed := la.odd == nil; packed != tc.packed {
				t.Errorf("packed = %v, want %v", packed, tc.packed)
			}
			if c, v := la.capabilities(); c != tc.caps || v != 4 {
				t.Errorf("capabilities = %v, %d", c, v)
			}
			// New capabilities, odd or not, then back.
			for _, c := range []meetings.Capabilities{{Audio: "Odd", Video: meetings.None, Content: meetings.None}, caps} {
				la = la.withCaps("m", id, c, 5)
				a.Caps, a.CapsVersion = c, 5
				if got := la.record("m", id); got != a {
					t.Fatalf("after withCaps(%v): record = %+v, want %+v", c, got, a)
				}
			}
		})
	}
}

// FuzzLiveAttendee: whatever is put is given back exactly.
func FuzzLiveAttendee(f *testing.F) {
	id := "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"
	f.Add(id, base64.RawURLEncoding.EncodeToString([]byte(id+":"+strings.Repeat("a1", 16))), "SendReceive", "None", "Receive", "user")
	f.Add(id, "x", "Send", "", "None", "")
	f.Fuzz(func(t *testing.T, id, token, audio, video, content, ext string) {
		a := meetings.AttendeeRecord{MeetingID: "m", ID: id, ExternalUserID: ext, JoinToken: token, Seq: 1,
			Caps: meetings.Capabilities{Audio: audio, Video: video, Content: content}, CapsVersion: 2}
		la := packAttendee(a)
		if got := la.record("m", id); got != a {
			t.Fatalf("record = %+v, want %+v", got, a)
		}
	})
}

// BenchmarkLiveStateMemory reports the heap the live state takes per
// attendee held (meetings of 250, attendees shaped as the domain makes
// them): the figure behind the default bound (docs/benchmarks.md).
func BenchmarkLiveStateMemory(b *testing.B) {
	const perMeeting, meetingsN = 250, 400
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := newLiveState(1 << 30)
		for range meetingsN {
			m := storetest.NewMeetingRecord()
			as := make([]meetings.AttendeeRecord, perMeeting)
			for i := range as {
				id := storetest.NewID()
				as[i] = meetings.AttendeeRecord{MeetingID: string([]byte(m.ID)), ID: id, ExternalUserID: fmt.Sprintf("user-%08d", i),
					JoinToken: base64.RawURLEncoding.EncodeToString([]byte(id + ":" + strings.Repeat("ab", 16))), Seq: int64(i + 1),
					Caps:        meetings.Capabilities{Audio: string([]byte(meetings.SendReceive)), Video: string([]byte(meetings.SendReceive)), Content: string([]byte(meetings.SendReceive))},
					CapsVersion: 1}
			}
			l.install(m, as)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(perMeeting*meetingsN), "heap-bytes/attendee")
		runtime.KeepAlive(l)
	}
}
