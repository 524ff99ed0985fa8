package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// Tests of group commit (group.go). To make a group deterministic they hold
// the writer goroutine inside one Update (holdWriter), queue the calls that
// should form the next group (waitQueued), then let it go: everything queued
// meanwhile is committed in one transaction. s.stats.commits counts COMMITs.

var errGroupBoom = errors.New("group boom")

var sendRecv = meetings.Capabilities{Audio: meetings.SendReceive, Video: meetings.SendReceive, Content: meetings.SendReceive}

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s := openDir(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	return s
}

// holdWriter keeps the writer busy inside an Update until the returned
// function is called; that function waits for the Update to return nil.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(meetings.Tx) error {
			close(started)
			<-hold
			return nil
		})
	}()
	<-started
	return func() {
		t.Helper()
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("holding Update: %v", err)
		}
	}
}

// waitQueued waits until n requests wait in the writer's queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", len(s.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// goUpdate runs s.Update in a goroutine; the result arrives on the channel.
func goUpdate(ctx context.Context, s *Store, fn func(meetings.Tx) error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- s.Update(ctx, fn) }()
	return ch
}

func seedMeeting(t *testing.T, s *Store) meetings.MeetingRecord {
	t.Helper()
	m := meetings.MeetingRecord{ID: storetest.NewID(), Account: "a", CreatedAt: time.Now()}
	if err := s.Update(context.Background(), func(tx meetings.Tx) error { return tx.InsertMeeting(context.Background(), m) }); err != nil {
		t.Fatal(err)
	}
	return m
}

func attendeeFor(meetingID, ext string) meetings.AttendeeRecord {
	return meetings.AttendeeRecord{MeetingID: meetingID, ID: storetest.NewID(), ExternalUserID: ext, Caps: sendRecv}
}

func insertAttendeeFn(a meetings.AttendeeRecord) func(meetings.Tx) error {
	return func(tx meetings.Tx) error { _, err := tx.InsertAttendee(context.Background(), a); return err }
}

// attendeeExists reports whether the meeting has an attendee with this
// ExternalUserId, read on a fresh snapshot.
func attendeeExists(t *testing.T, s *Store, meetingID, ext string) bool {
	t.Helper()
	var found bool
	err := s.View(context.Background(), func(tx meetings.ReadTx) error {
		_, err := tx.AttendeeByExternalUserID(context.Background(), meetingID, ext)
		if errors.Is(err, store.ErrNoRecord) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A failing fn in the middle of a group: its error comes back unchanged, its
// writes are absent, and the fns before and after it commit, the later one
// seeing the earlier one's writes and not the failed one's.
func TestGroupFailingFnInMiddle(t *testing.T) {
	s := openTestStore(t)
	m := seedMeeting(t, s)
	ctx := context.Background()

	release := holdWriter(t, s)
	commits := s.stats.commits.Load()
	first := goUpdate(ctx, s, insertAttendeeFn(attendeeFor(m.ID, "first")))
	waitQueued(t, s, 1)
	failing := goUpdate(ctx, s, func(tx meetings.Tx) error {
		// Sees the first fn's write (same transaction, serial order).
		if _, err := tx.AttendeeByExternalUserID(ctx, m.ID, "first"); err != nil {
			return fmt.Errorf("failing fn does not see the first fn's write: %v", err)
		}
		if _, err := tx.InsertAttendee(ctx, attendeeFor(m.ID, "doomed")); err != nil {
			return err
		}
		mm := m
		mm.Version = 99
		if err := tx.UpdateMeeting(ctx, mm); err != nil {
			return err
		}
		return errGroupBoom
	})
	waitQueued(t, s, 2)
	last := goUpdate(ctx, s, func(tx meetings.Tx) error {
		if _, err := tx.AttendeeByExternalUserID(ctx, m.ID, "first"); err != nil {
			return fmt.Errorf("last fn does not see the first fn's write: %v", err)
		}
		if _, err := tx.AttendeeByExternalUserID(ctx, m.ID, "doomed"); !errors.Is(err, store.ErrNoRecord) {
			return fmt.Errorf("last fn sees the failed fn's write: %v", err)
		}
		cur, err := tx.LockMeeting(ctx, m.ID)
		if err != nil {
			return err
		}
		if cur.Version != m.Version {
			return fmt.Errorf("last fn sees Version %d written by the failed fn", cur.Version)
		}
		// Would be a duplicate if the failed fn's insert had survived.
		_, err = tx.InsertAttendee(ctx, attendeeFor(m.ID, "doomed"))
		return err
	})
	waitQueued(t, s, 3)
	release()

	if err := <-first; err != nil {
		t.Errorf("first Update: %v", err)
	}
	if err := <-failing; err != errGroupBoom {
		t.Errorf("failing Update = %v, want its fn's error itself", err)
	}
	if err := <-last; err != nil {
		t.Errorf("last Update: %v", err)
	}
	// The holding Update, then the group of three.
	if got := s.stats.commits.Load() - commits; got != 2 {
		t.Errorf("%d COMMITs for the holding Update and a group of three, want 2", got)
	}
	if !attendeeExists(t, s, m.ID, "first") {
		t.Error("first fn's write lost")
	}
	if !attendeeExists(t, s, m.ID, "doomed") {
		t.Error("last fn's write lost")
	}
	var n int
	var got meetings.MeetingRecord
	err := s.View(ctx, func(tx meetings.ReadTx) error {
		var err error
		if n, err = tx.CountAttendees(ctx, m.ID); err != nil {
			return err
		}
		got, err = tx.Meeting(ctx, m.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || got.Version != m.Version {
		t.Errorf("after the group: %d attendees, Version %d; want 2 and %d (failed fn's writes absent)", n, got.Version, m.Version)
	}
}

// A store error in a grouped fn (a duplicate key) rolls back that fn only.
func TestGroupStoreErrorInMiddle(t *testing.T) {
	s := openTestStore(t)
	m := seedMeeting(t, s)
	ctx := context.Background()
	if err := s.Update(ctx, insertAttendeeFn(attendeeFor(m.ID, "taken"))); err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, s)
	a := goUpdate(ctx, s, insertAttendeeFn(attendeeFor(m.ID, "a")))
	waitQueued(t, s, 1)
	dup := goUpdate(ctx, s, func(tx meetings.Tx) error {
		if _, err := tx.InsertAttendee(ctx, attendeeFor(m.ID, "half")); err != nil {
			return err
		}
		_, err := tx.InsertAttendee(ctx, attendeeFor(m.ID, "taken"))
		return err
	})
	waitQueued(t, s, 2)
	c := goUpdate(ctx, s, insertAttendeeFn(attendeeFor(m.ID, "c")))
	waitQueued(t, s, 3)
	release()
	if err := <-a; err != nil {
		t.Errorf("a: %v", err)
	}
	if err := <-dup; !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("duplicate insert = %v, want ErrDuplicate", err)
	}
	if err := <-c; err != nil {
		t.Errorf("c: %v", err)
	}
	for ext, want := range map[string]bool{"a": true, "c": true, "taken": true, "half": false} {
		if got := attendeeExists(t, s, m.ID, ext); got != want {
			t.Errorf("attendee %q present = %v, want %v", ext, got, want)
		}
	}
}

// N Updates queued together commit in one transaction: the number of
// COMMITs is well below the number of writers.
func TestGroupCommitsFewerThanWriters(t *testing.T) {
	s := openTestStore(t)
	m := seedMeeting(t, s)
	ctx := context.Background()
	const n = 100 // < maxGroup: one group
	release := holdWriter(t, s)
	commits, fns := s.stats.commits.Load(), s.stats.fns.Load()
	results := make([]<-chan error, n)
	for i := range results {
		results[i] = goUpdate(ctx, s, func(tx meetings.Tx) error {
			cur, err := tx.LockMeeting(ctx, m.ID)
			if err != nil {
				return err
			}
			cur.Version++
			return tx.UpdateMeeting(ctx, cur)
		})
	}
	waitQueued(t, s, n)
	release()
	for i, ch := range results {
		if err := <-ch; err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	if got := s.stats.commits.Load() - commits; got != 2 {
		t.Errorf("%d COMMITs for the holding Update and %d queued writers, want 2", got, n)
	}
	// The holding fn was counted before fns was read.
	if got := s.stats.fns.Load() - fns; got != n {
		t.Errorf("%d fns run, want %d", got, n)
	}
	if got := getVersion(t, s, m.ID); got != n {
		t.Errorf("Version = %d after %d increments", got, n)
	}
}

// Free-running writers (no holding): on a durable store the commits of
// concurrent writers group by themselves. Logged, and only loosely asserted
// (no timing is guaranteed).
func TestGroupCommitsFreeRunning(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	const writers, each = 32, 20
	ids := make([]string, writers)
	for i := range ids {
		ids[i] = seedMeeting(t, s).ID
	}
	commits := s.stats.commits.Load()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range each {
				err := s.Update(ctx, func(tx meetings.Tx) error {
					cur, err := tx.LockMeeting(ctx, ids[w])
					if err != nil {
						return err
					}
					cur.Version++
					return tx.UpdateMeeting(ctx, cur)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := s.stats.commits.Load() - commits
	t.Logf("%d Updates from %d goroutines in %d COMMITs (%.1f per commit)", writers*each, writers, got, float64(writers*each)/float64(got))
	if got >= writers*each {
		t.Errorf("%d COMMITs for %d concurrent Updates: no grouping", got, writers*each)
	}
	for _, id := range ids {
		if v := getVersion(t, s, id); v != each {
			t.Errorf("meeting %s Version %d, want %d", id, v, each)
		}
	}
}

func getVersion(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	var v int64
	err := s.View(context.Background(), func(tx meetings.ReadTx) error {
		m, err := tx.Meeting(context.Background(), id)
		v = m.Version
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A context cancelled while the Update waits in the queue: ctx.Err(), and
// the fn never runs.
func TestGroupCancelBeforeStart(t *testing.T) {
	s := openTestStore(t)
	m := seedMeeting(t, s)
	release := holdWriter(t, s)
	cctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	ch := goUpdate(cctx, s, func(tx meetings.Tx) error {
		ran.Store(true)
		_, err := tx.InsertAttendee(context.Background(), attendeeFor(m.ID, "never"))
		return err
	})
	waitQueued(t, s, 1)
	cancel()
	select {
	case err := <-ch:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Update cancelled in the queue = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update cancelled in the queue did not return while the writer was busy")
	}
	release()
	// The writer has passed the abandoned request once a later Update returns.
	if err := s.Update(context.Background(), func(meetings.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Error("the fn of an Update cancelled before it started ran")
	}
	if attendeeExists(t, s, m.ID, "never") {
		t.Error("write of a cancelled Update committed")
	}
	// Already cancelled: fails at once.
	if err := s.Update(cctx, func(meetings.Tx) error { ran.Store(true); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled ctx = %v", err)
	}
	if ran.Load() {
		t.Error("fn ran under a cancelled ctx")
	}
}

// A context cancelled after the fn ran: the caller still waits for the
// commit and gets nil, and the write is there.
func TestGroupCancelAfterStart(t *testing.T) {
	s := openTestStore(t)
	m := seedMeeting(t, s)
	release := holdWriter(t, s)
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan struct{})
	ch := goUpdate(cctx, s, func(tx meetings.Tx) error {
		_, err := tx.InsertAttendee(cctx, attendeeFor(m.ID, "kept"))
		close(ran)
		return err
	})
	waitQueued(t, s, 1)
	// A second member of the group keeps the transaction open after the
	// first fn ran.
	hold2 := make(chan struct{})
	ch2 := goUpdate(context.Background(), s, func(meetings.Tx) error { <-hold2; return nil })
	waitQueued(t, s, 2)
	release()
	<-ran
	cancel()
	select {
	case err := <-ch:
		t.Fatalf("Update returned %v before its group committed", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(hold2)
	if err := <-ch; err != nil {
		t.Errorf("Update cancelled after its fn ran = %v, want nil (it committed)", err)
	}
	if err := <-ch2; err != nil {
		t.Error(err)
	}
	if !attendeeExists(t, s, m.ID, "kept") {
		t.Error("write of an Update whose fn ran before the cancel is missing")
	}
}

// Inside a group a statement under a cancelled ctx fails with ctx.Err(),
// without interrupting the shared transaction: only that fn rolls back.
func TestGroupCancelDuringFn(t *testing.T) {
	s := openTestStore(t)
	m := seedMeeting(t, s)
	ctx := context.Background()
	release := holdWriter(t, s)
	a := goUpdate(ctx, s, insertAttendeeFn(attendeeFor(m.ID, "a")))
	waitQueued(t, s, 1)
	cctx, cancel := context.WithCancel(ctx)
	b := goUpdate(cctx, s, func(tx meetings.Tx) error {
		if _, err := tx.InsertAttendee(cctx, attendeeFor(m.ID, "b1")); err != nil {
			return err
		}
		cancel()
		_, err := tx.InsertAttendee(cctx, attendeeFor(m.ID, "b2"))
		return err
	})
	waitQueued(t, s, 2)
	c := goUpdate(ctx, s, insertAttendeeFn(attendeeFor(m.ID, "c")))
	waitQueued(t, s, 3)
	release()
	if err := <-a; err != nil {
		t.Error(err)
	}
	if err := <-b; !errors.Is(err, context.Canceled) {
		t.Errorf("Update whose ctx ended inside fn = %v, want context.Canceled", err)
	}
	if err := <-c; err != nil {
		t.Error(err)
	}
	for ext, want := range map[string]bool{"a": true, "b1": false, "b2": false, "c": true} {
		if got := attendeeExists(t, s, m.ID, ext); got != want {
			t.Errorf("attendee %q present = %v, want %v", ext, got, want)
		}
	}
}

// A panic or a runtime.Goexit in a grouped fn fails its own Update with
// store.ErrAborted and rolls back its writes; the writer lives on and the
// other fns of the group commit.
func TestGroupAbort(t *testing.T) {
	for _, tc := range []struct {
		name  string
		abort func()
	}{
		{"panic", func() { panic(errGroupBoom) }},
		{"Goexit", runtime.Goexit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStore(t)
			m := seedMeeting(t, s)
			ctx := context.Background()
			aborting := func(ext string) func(meetings.Tx) error {
				return func(tx meetings.Tx) error {
					if _, err := tx.InsertAttendee(ctx, attendeeFor(m.ID, ext)); err != nil {
						return err
					}
					tc.abort()
					return nil
				}
			}

			// Alone (a group of one).
			if err := <-goUpdate(ctx, s, aborting("p0")); !errors.Is(err, store.ErrAborted) {
				t.Errorf("aborted Update alone = %v, want store.ErrAborted", err)
			}

			// In the middle of a group.
			release := holdWriter(t, s)
			a := goUpdate(ctx, s, insertAttendeeFn(attendeeFor(m.ID, "a")))
			waitQueued(t, s, 1)
			p := goUpdate(ctx, s, aborting("p1"))
			waitQueued(t, s, 2)
			c := goUpdate(ctx, s, insertAttendeeFn(attendeeFor(m.ID, "c")))
			waitQueued(t, s, 3)
			release()
			if err := <-a; err != nil {
				t.Error(err)
			}
			if err := <-p; !errors.Is(err, store.ErrAborted) {
				t.Errorf("aborted Update in a group = %v, want store.ErrAborted", err)
			}
			if err := <-c; err != nil {
				t.Error(err)
			}
			for ext, want := range map[string]bool{"p0": false, "a": true, "p1": false, "c": true} {
				if got := attendeeExists(t, s, m.ID, ext); got != want {
					t.Errorf("attendee %q present = %v, want %v", ext, got, want)
				}
			}
			// The live state saw only what committed.
			for ext, want := range map[string]bool{"a": true, "c": true} {
				if _, _, found, err := s.ReadAttendee(ctx, m.ID, attendeeIDByExt(t, s, m.ID, ext)); err != nil || found != want {
					t.Errorf("ReadAttendee(%q) = %v, %v; want found %v", ext, found, err, want)
				}
			}
		})
	}
}

// attendeeIDByExt returns the id of the meeting's attendee with this
// ExternalUserId.
func attendeeIDByExt(t *testing.T, s *Store, meetingID, ext string) string {
	t.Helper()
	var id string
	err := s.View(context.Background(), func(tx meetings.ReadTx) error {
		a, err := tx.AttendeeByExternalUserID(context.Background(), meetingID, ext)
		id = a.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Close waits for the Updates already queued, which commit, and skips the
// abandoned ones.
func TestGroupCloseDrains(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	m := seedMeeting(t, s)
	release := holdWriter(t, s)
	cctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	abandoned := goUpdate(cctx, s, func(meetings.Tx) error { ran.Store(true); return nil })
	waitQueued(t, s, 1)
	cancel()
	if err := <-abandoned; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned Update = %v", err)
	}
	const n = 5
	results := make([]<-chan error, n)
	for i := range results {
		results[i] = goUpdate(context.Background(), s, insertAttendeeFn(attendeeFor(m.ID, fmt.Sprint("q", i))))
	}
	waitQueued(t, s, n+1)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Close is waiting for the queued Updates.
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with Updates queued", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	for i, ch := range results {
		if err := <-ch; err != nil {
			t.Errorf("queued Update %d: %v", i, err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if ran.Load() {
		t.Error("abandoned fn ran")
	}
	s = openDir(t, dir)
	defer s.Close()
	for i := range n {
		if !attendeeExists(t, s, m.ID, fmt.Sprint("q", i)) {
			t.Errorf("queued Update %d lost across Close", i)
		}
	}
}

// Another process (here: another connection) holding the write lock past
// the busy timeout: BEGIN IMMEDIATE fails with SQLITE_BUSY, the writer
// retries, and the queued Updates commit once the lock is free.
func TestGroupBusyRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the busy timeout")
	}
	var logs lockedBuffer
	s, err := Open(context.Background(), Options{Dir: t.TempDir(), LiveAttendees: DefaultLiveAttendees, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := seedMeeting(t, s)
	ctx := context.Background()
	other, err := sql.Open("sqlite", s.dsn(url.Values{"_pragma": {"busy_timeout(0)"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	results := make([]<-chan error, 3)
	for i := range results {
		results[i] = goUpdate(ctx, s, insertAttendeeFn(attendeeFor(m.ID, fmt.Sprint("b", i))))
	}
	// Release the lock after the first BEGIN IMMEDIATE gave up.
	time.Sleep(busyTimeout + 300*time.Millisecond)
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	for i, ch := range results {
		if err := <-ch; err != nil {
			t.Errorf("Update %d after the lock was released: %v", i, err)
		}
	}
	for i := range results {
		if !attendeeExists(t, s, m.ID, fmt.Sprint("b", i)) {
			t.Errorf("attendee b%d missing", i)
		}
	}
	if !strings.Contains(logs.String(), "busy; retrying") {
		t.Errorf("no busy retry logged:\n%s", logs.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
