package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

// Two Stores on one database stand for two Carillon nodes.

func twoNodes(t *testing.T, opts Options) (dbURL string, a, b *Store) {
	dbURL = freshDatabase(t)
	opts.URL = dbURL
	return dbURL, openStore(t, opts), openStore(t, opts)
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := Open(context.Background(), Options{URL: dbURL})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, maxV int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&rows, &maxV); err != nil {
		t.Fatal(err)
	}
	if rows != SchemaVersion() || maxV != SchemaVersion() {
		t.Errorf("schema_migrations: %d rows, max %d; want %d", rows, maxV, SchemaVersion())
	}

	// A newer schema than the code knows is refused.
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, Options{URL: dbURL}); !errors.Is(err, ErrSchemaTooNew) {
		if err == nil {
			s.Close()
		}
		t.Errorf("Open on a newer schema = %v, want ErrSchemaTooNew", err)
	}
}

// TestAttendeeLimitAcrossNodes: 50 concurrent get-count-insert transactions
// through two nodes never exceed the limit, because LockMeeting serializes
// them on the meeting's row lock.
func TestAttendeeLimitAcrossNodes(t *testing.T) {
	t.Parallel()
	_, a, b := twoNodes(t, Options{})
	const id, limit = "7c0d6f0e-0000-4000-8000-000000000001", 20
	insertMeeting(t, a, testMeeting(id))
	var wg sync.WaitGroup
	for i := range 50 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			ctx := context.Background()
			err := s.Update(ctx, func(tx meetings.Tx) error {
				if _, err := tx.LockMeeting(ctx, id); err != nil {
					return err
				}
				n, err := tx.CountAttendees(ctx, id)
				if err != nil || n >= limit {
					return err
				}
				_, err = tx.InsertAttendee(ctx, meetings.AttendeeRecord{MeetingID: id,
					ID: fmt.Sprintf("a-%02d", i), ExternalUserID: fmt.Sprintf("u-%02d", i), JoinToken: "t",
					Caps: meetings.Capabilities{Audio: "SendReceive", Video: "SendReceive", Content: "SendReceive"}})
				return err
			})
			if err != nil {
				t.Errorf("create attendee %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	var n int
	a.View(context.Background(), func(tx meetings.ReadTx) (err error) { n, err = tx.CountAttendees(context.Background(), id); return })
	if n != limit {
		t.Errorf("%d attendees, want %d", n, limit)
	}
}

// TestClientRequestTokenAcrossNodes: the same (account, token hash) stored
// from both nodes at once yields one meeting; the others get ErrDuplicate.
func TestClientRequestTokenAcrossNodes(t *testing.T) {
	t.Parallel()
	_, a, b := twoNodes(t, Options{})
	var wg sync.WaitGroup
	var ok, dup atomic.Int32
	for i := range 10 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			m := testMeeting(fmt.Sprintf("7c0d6f0e-0000-4000-8000-0000000001%02d", i))
			m.TokenHash, m.RequestHash = "same-token-hash", "r"
			err := s.Update(context.Background(), func(tx meetings.Tx) error { return tx.InsertMeeting(context.Background(), m) })
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrDuplicate):
				dup.Add(1)
			default:
				t.Errorf("insert %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || dup.Load() != 9 {
		t.Errorf("%d inserted, %d duplicates; want 1 and 9", ok.Load(), dup.Load())
	}
}

// TestDeadlockIsRetried: two transactions lock two meetings in opposite
// orders on two nodes; PostgreSQL aborts one (40P01), Update runs it again,
// and both succeed.
func TestDeadlockIsRetried(t *testing.T) {
	t.Parallel()
	_, a, b := twoNodes(t, Options{})
	const m1, m2 = "7c0d6f0e-0000-4000-8000-000000000201", "7c0d6f0e-0000-4000-8000-000000000202"
	insertMeeting(t, a, testMeeting(m1))
	insertMeeting(t, a, testMeeting(m2))
	var calls atomic.Int32
	var barrier sync.WaitGroup
	barrier.Add(2)
	bump := func(s *Store, first, second string) error {
		ctx := context.Background()
		attempt := 0
		return s.Update(ctx, func(tx meetings.Tx) error {
			calls.Add(1)
			attempt++
			m, err := tx.LockMeeting(ctx, first)
			if err != nil {
				return err
			}
			if attempt == 1 {
				barrier.Done()
				barrier.Wait() // both hold their first lock
			}
			if _, err := tx.LockMeeting(ctx, second); err != nil {
				return err
			}
			m.Version++
			return tx.UpdateMeeting(ctx, m)
		})
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := bump(a, m1, m2); err != nil {
			t.Errorf("a: %v", err)
		}
	})
	wg.Go(func() {
		if err := bump(b, m2, m1); err != nil {
			t.Errorf("b: %v", err)
		}
	})
	wg.Wait()
	// Usually 3 (one retry); a loaded machine may abort a retry again.
	if calls.Load() < 3 {
		t.Errorf("fn ran %d times, want at least 3 (a retry)", calls.Load())
	}
}

// TestLockTimeout: a writer that cannot get a meeting's row lock within
// the lock timeout fails with ErrUnavailable instead of queueing forever.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	_, a, b := twoNodes(t, Options{LockTimeout: 200 * time.Millisecond})
	const id = "7c0d6f0e-0000-4000-8000-000000000301"
	insertMeeting(t, a, testMeeting(id))
	locked, release := make(chan struct{}), make(chan struct{})
	go a.Update(context.Background(), func(tx meetings.Tx) error {
		_, err := tx.LockMeeting(context.Background(), id)
		close(locked)
		<-release
		return err
	})
	<-locked
	start := time.Now()
	err := b.Update(context.Background(), func(tx meetings.Tx) error {
		_, err := tx.LockMeeting(context.Background(), id)
		return err
	})
	close(release)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("LockMeeting while another node holds it = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
}

// TestAbortedTransactionIsNotCommitted: fn swallows a failed statement and
// returns nil; Update must not report success.
func TestAbortedTransactionIsNotCommitted(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	const id = "7c0d6f0e-0000-4000-8000-000000000401"
	ctx := context.Background()
	err := s.Update(ctx, func(tx meetings.Tx) error {
		if err := tx.InsertMeeting(ctx, testMeeting(id)); err != nil {
			return err
		}
		// An attendee of a meeting that does not exist: a foreign key
		// violation, which aborts the transaction.
		if _, err := tx.InsertAttendee(ctx, meetings.AttendeeRecord{MeetingID: "absent", ID: "x", ExternalUserID: "x"}); !errors.Is(err, store.ErrNoRecord) {
			t.Errorf("InsertAttendee on an absent meeting = %v, want ErrNoRecord", err)
		}
		return nil
	})
	if err == nil {
		t.Error("Update = nil after an aborted transaction")
	}
	err = s.View(ctx, func(tx meetings.ReadTx) error { _, err := tx.Meeting(ctx, id); return err })
	if !errors.Is(err, store.ErrNoRecord) {
		t.Errorf("meeting of the aborted transaction: %v, want ErrNoRecord", err)
	}
}
