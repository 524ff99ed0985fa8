package postgres

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/faultproxy"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

func testMeeting(id string) meetings.MeetingRecord {
	return meetings.MeetingRecord{
		ID: id, Account: "111122223333", ARN: "arn:aws:chime:us-east-1:111122223333:meeting/" + id,
		ExternalMeetingID: "ext-" + id, MediaRegion: "us-east-1", NetworkType: "Ipv4Only",
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
}

func insertMeeting(t testing.TB, s meetings.Store, m meetings.MeetingRecord) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx meetings.Tx) error { return tx.InsertMeeting(context.Background(), m) }); err != nil {
		t.Fatalf("insert meeting %s: %v", m.ID, err)
	}
}

// faultOps are the calls that must fail fast while the database is away.
var faultOps = []struct {
	name string
	call func(ctx context.Context, s *Store, id string) error
}{
	// ReadAttendee first: after backends were terminated, it meets a
	// closed connection before Ping has flushed the idle ones.
	{"ReadAttendee", func(ctx context.Context, s *Store, id string) error {
		_, _, found, err := s.ReadAttendee(ctx, id, id)
		if err == nil && found {
			err = errors.New("found an attendee that does not exist")
		}
		return err
	}},
	{"Ping", func(ctx context.Context, s *Store, _ string) error { return s.Ping(ctx) }},
	{"Update", func(ctx context.Context, s *Store, id string) error {
		return s.Update(ctx, func(tx meetings.Tx) error {
			m, err := tx.LockMeeting(ctx, id)
			if err != nil {
				return err
			}
			m.Version++
			return tx.UpdateMeeting(ctx, m)
		})
	}},
	{"View", func(ctx context.Context, s *Store, id string) error {
		return s.View(ctx, func(tx meetings.ReadTx) error { _, err := tx.Meeting(ctx, id); return err })
	}},
}

// expectUnavailable runs every fault op and checks that it fails with
// ErrUnavailable within bound.
func expectUnavailable(t *testing.T, s *Store, id string, bound time.Duration) {
	t.Helper()
	for _, op := range faultOps {
		start := time.Now()
		err := op.call(context.Background(), s, id)
		took := time.Since(start)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s while the database is away = %v, want ErrUnavailable", op.name, err)
		}
		if took > bound {
			t.Errorf("%s took %v to fail, want < %v", op.name, took, bound)
		}
		t.Logf("%s failed after %v: %v", op.name, took.Round(time.Millisecond), err)
	}
}

// expectRecovery waits (bounded) for Ping to succeed, then checks that
// every op works again.
func expectRecovery(t *testing.T, s *Store, id string) {
	t.Helper()
	start := time.Now()
	for {
		err := s.Ping(context.Background())
		if err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no recovery 10 s after the database came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("Ping recovered after %v", time.Since(start).Round(time.Millisecond))
	for _, op := range faultOps {
		if err := op.call(context.Background(), s, id); err != nil {
			t.Errorf("%s after recovery = %v", op.name, err)
		}
	}
}

func targetOf(t testing.TB, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return u.Hostname() + ":5432"
	}
	return u.Host
}

// TestOutageFailsFastAndRecovers: the database goes away (connections
// reset, new ones refused), then comes back.
func TestOutageFailsFastAndRecovers(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	p := faultproxy.Start(t, targetOf(t, dbURL))
	s := openStore(t, Options{URL: withHost(t, dbURL, p.Addr)})
	const id = "6d3e1c1a-9b7f-4d2e-8c55-000000000001"
	insertMeeting(t, s, testMeeting(id))

	p.Down()
	expectUnavailable(t, s, id, 3*time.Second)
	p.Up(false)
	expectRecovery(t, s, id)
}

// TestPartitionFailsFastAndRecovers: the database stops answering without
// closing anything (a network partition, a frozen host): the connect
// timeout and the operation timeout bound every call.
func TestPartitionFailsFastAndRecovers(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	p := faultproxy.Start(t, targetOf(t, dbURL))
	s := openStore(t, Options{URL: withHost(t, dbURL, p.Addr), ConnectTimeout: 500 * time.Millisecond, OperationTimeout: time.Second})
	const id = "6d3e1c1a-9b7f-4d2e-8c55-000000000002"
	insertMeeting(t, s, testMeeting(id))

	p.Freeze()
	expectUnavailable(t, s, id, 3*time.Second)
	p.Down()
	p.Up(false)
	expectRecovery(t, s, id)
}

// TestCallerDeadline: the caller's own deadline wins over the engine's
// timeouts and its error stays recognisable.
func TestCallerDeadline(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	p := faultproxy.Start(t, targetOf(t, dbURL))
	s := openStore(t, Options{URL: withHost(t, dbURL, p.Addr)})
	p.Freeze()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.View(ctx, func(tx meetings.ReadTx) error { _, err := tx.Meeting(ctx, "x"); return err })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("View = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("View took %v", took)
	}
}

// TestTerminatedBackendsAreReplaced: after the server ends every session
// (pg_terminate_backend, as a restart or failover does: 57P01), the next
// calls succeed on new connections without the caller seeing an error.
func TestTerminatedBackendsAreReplaced(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	s := openStore(t, Options{URL: dbURL})
	const id = "6d3e1c1a-9b7f-4d2e-8c55-000000000003"
	insertMeeting(t, s, testMeeting(id))
	ctx := context.Background()

	admin, err := pgx.Connect(ctx, adminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	err = admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND application_name = 'carillon'`, dbName(t, dbURL)).Scan(&killed)
	if err != nil || killed == 0 {
		t.Fatalf("terminate backends: %d, %v", killed, err)
	}
	time.Sleep(50 * time.Millisecond) // let the FATAL messages arrive
	for _, op := range faultOps {
		if err := op.call(ctx, s, id); err != nil {
			t.Errorf("%s after the backends were terminated = %v", op.name, err)
		}
	}
}

func dbName(t testing.TB, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path[1:]
}

// TestOpenUnreachable: Open fails fast, with ErrUnavailable.
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	p := faultproxy.Start(t, targetOf(t, dbURL))
	p.Down()
	start := time.Now()
	_, err := Open(context.Background(), Options{URL: withHost(t, dbURL, p.Addr)})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open = %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Open took %v", took)
	}
}

// TestPartitionManyCallers: while the database does not answer, a crowd of
// callers (more than the pool's connections) all fail fast too, instead of
// queueing behind connection attempts that each wait out the timeout.
func TestPartitionManyCallers(t *testing.T) {
	t.Parallel()
	dbURL := freshDatabase(t)
	p := faultproxy.Start(t, targetOf(t, dbURL))
	s := openStore(t, Options{URL: withHost(t, dbURL, p.Addr), MaxConns: 4, ConnectTimeout: 500 * time.Millisecond})
	const id = "6d3e1c1a-9b7f-4d2e-8c55-000000000004"
	insertMeeting(t, s, testMeeting(id))
	p.Down()
	p.Up(true) // accepts, never answers
	var wg sync.WaitGroup
	for i := range 40 {
		op := faultOps[i%len(faultOps)]
		wg.Go(func() {
			start := time.Now()
			err := op.call(context.Background(), s, id)
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s #%d = %v, want ErrUnavailable", op.name, i, err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("%s #%d took %v", op.name, i, took)
			}
		})
	}
	wg.Wait()
	p.Down()
	p.Up(false)
	expectRecovery(t, s, id)
}
