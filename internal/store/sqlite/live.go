package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

// liveState keeps meetings with all their attendees in memory, so that
// ReadAttendee (GetAttendee, the hottest read of the API) is a map lookup
// instead of a SQLite statement (about 50 µs of CPU with this driver), and
// so that the writer's LockMeeting and AttendeesByID (a batch update's
// reads) do not ask SQLite. SQLite stays the only durable copy; this is a
// write-through mirror of part of it.
//
// It is correct only while this process is the database's only writer,
// which Open makes sure of with a lock on the data directory; without that
// lock it is off.
//
// Only the writer goroutine changes it, so there is nothing to reconcile:
//
//   - Each write transaction logs what it changed (tx.changes), truncating
//     the log when a savepoint is rolled back. Once COMMIT has succeeded,
//     and before any caller of the Update is answered, the writer applies
//     the log to the meetings held here. So an acknowledged write is never
//     followed by a stale read. If COMMIT fails, the meetings the
//     transaction touched are dropped (they are read again on demand).
//   - A meeting is held whole or not at all. It enters when created
//     (InsertMeeting: it has no attendees yet), or when a reader misses it:
//     ReadAttendee answers from SQL and asks the writer to load it, which
//     the writer does between two transactions, when what is committed is
//     exactly what is held for every other meeting.
//   - Past the bound, whole meetings are evicted in map order (random).
//
// Readers take the read lock and get copies of the records, sharing their
// pointers and slices (Batch, Features, TenantIDs...): the changes replace
// those, never write through them, and callers only read them.
type liveState struct {
	mu       sync.RWMutex
	meetings map[string]*liveMeeting
	size     int // attendees held
	max      int // bound on size
}

type liveMeeting struct {
	m         meetings.MeetingRecord
	attendees map[string]liveAttendee
}

// DefaultLiveAttendees is the bound of the live state that carillon serve
// uses unless told otherwise (--memory-attendees). The figures of memory per
// attendee that it is derived from are in docs/benchmarks.md.
const DefaultLiveAttendees = 1 << 20

// loadQueue is the capacity of the channel of meetings readers want loaded;
// a reader never waits for it (a full queue drops the request).
const loadQueue = 1024

func newLiveState(max int) *liveState {
	return &liveState{meetings: map[string]*liveMeeting{}, max: max}
}

// get returns the meeting and, when it has one, the attendee. held is false
// when the meeting is not held (whether or not it exists).
func (l *liveState) get(meetingID, attendeeID string) (m meetings.MeetingRecord, a meetings.AttendeeRecord, found, held bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	lm := l.meetings[meetingID]
	if lm == nil {
		return m, a, false, false
	}
	la, found := lm.attendees[attendeeID]
	if found {
		a = la.record(lm.m.ID, attendeeID)
	}
	return lm.m, a, found, true
}

// holds reports whether the meeting is held (writer only).
func (l *liveState) holds(id string) bool { return l.meetings[id] != nil }

// install puts a meeting read from the database, with all its attendees
// (writer only, between transactions).
func (l *liveState) install(m meetings.MeetingRecord, attendees []meetings.AttendeeRecord) {
	if len(attendees) > l.max {
		return
	}
	lm := &liveMeeting{m: m, attendees: make(map[string]liveAttendee, len(attendees))}
	for _, a := range attendees {
		lm.put(a)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if old := l.meetings[m.ID]; old != nil {
		l.size -= len(old.attendees)
	}
	l.meetings[m.ID] = lm
	l.size += len(lm.attendees)
	l.evict(m.ID)
}

// apply applies a committed transaction's changes (writer only).
func (l *liveState) apply(changes []change) {
	if len(changes) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range changes {
		c.apply(l)
	}
}

// drop forgets these meetings (writer only).
func (l *liveState) drop(ids map[string]struct{}) {
	if len(ids) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range ids {
		l.remove(id)
	}
}

func (l *liveState) remove(id string) {
	if lm := l.meetings[id]; lm != nil {
		l.size -= len(lm.attendees)
		delete(l.meetings, id)
	}
}

// evict brings size back under the bound: it drops the meeting keep if it
// does not fit on its own, others otherwise. Called with mu held.
func (l *liveState) evict(keep string) {
	if lm := l.meetings[keep]; lm != nil && len(lm.attendees) > l.max {
		l.remove(keep)
	}
	for id := range l.meetings {
		if l.size <= l.max {
			return
		}
		if id != keep {
			l.remove(id)
		}
	}
}

// put adds or replaces an attendee.
func (lm *liveMeeting) put(a meetings.AttendeeRecord) {
	lm.attendees[a.ID] = packAttendee(a)
}

func internCaps(c meetings.Capabilities) meetings.Capabilities {
	return meetings.Capabilities{Audio: internCap(c.Audio), Video: internCap(c.Video), Content: internCap(c.Content)}
}

func internCap(s string) string {
	switch s {
	case meetings.SendReceive:
		return meetings.SendReceive
	case meetings.Send:
		return meetings.Send
	case meetings.Receive:
		return meetings.Receive
	case meetings.None:
		return meetings.None
	}
	return s
}

// loadsPerGroup bounds the loads the writer serves between two groups while
// writes are queued, so that loads delay writes little.
const loadsPerGroup = 4

// serveLoads loads at most n of the meetings readers asked for, without
// waiting for more (writer only).
func (s *Store) serveLoads(n int) {
	for range n {
		select {
		case id := <-s.loads:
			s.load(id)
		default:
			return
		}
	}
}

// load reads a meeting with all its attendees and puts it in the live state
// (writer only, between transactions: nothing is being written, so what it
// reads is what the live state would hold). A failure leaves the meeting to
// SQL; the next reader that misses it asks again. It delays the writes
// queued meanwhile by the time of one read of the meeting's attendees
// (about 3 ms per 1,000: BenchmarkAttendeesPage100), once per meeting held.
func (s *Store) load(id string) {
	if s.live.holds(id) {
		return
	}
	ctx := context.Background()
	sqlTx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		s.log.Warn("sqlite: loading a meeting into memory", "meeting", id, "err", err)
		return
	}
	defer sqlTx.Rollback()
	t := &tx{tx: sqlTx, stmts: s.rStmts, detached: true}
	m, err := t.Meeting(ctx, id)
	if err != nil {
		if !errors.Is(err, store.ErrNoRecord) {
			s.log.Warn("sqlite: loading a meeting into memory", "meeting", id, "err", err)
		}
		return
	}
	attendees, err := t.Attendees(ctx, id, 0, s.live.max+1)
	if err != nil {
		s.log.Warn("sqlite: loading a meeting into memory", "meeting", id, "err", err)
		return
	}
	s.live.install(m, attendees)
}
