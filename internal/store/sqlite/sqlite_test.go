package sqlite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

func openDir(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Dir: dir, LiveAttendees: DefaultLiveAttendees})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformanceDir(t *testing.T) {
	storetest.Run(t, func(t *testing.T) meetings.Store {
		s := openDir(t, filepath.Join(t.TempDir(), "data"))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) meetings.Store {
		s, err := Open(context.Background(), Options{InMemory: true, LiveAttendees: DefaultLiveAttendees})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

// The conformance suite again with the live state off (every read and
// write through SQL) and with a bound of 3 attendees (meetings held,
// evicted and loaded again as the tests go).
func TestConformanceLiveStateOff(t *testing.T)  { conformanceWithLive(t, 0) }
func TestConformanceLiveStateTiny(t *testing.T) { conformanceWithLive(t, 3) }

func conformanceWithLive(t *testing.T, bound int) {
	storetest.Run(t, func(t *testing.T) meetings.Store {
		s, err := Open(context.Background(), Options{Dir: filepath.Join(t.TempDir(), "data"), LiveAttendees: bound})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if (s.live == nil) != (bound == 0) {
			t.Fatalf("LiveAttendees %d: live state on = %v", bound, s.live != nil)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

func TestOpenOptions(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, Options{}); err == nil {
		t.Error("Open without Dir or InMemory succeeded")
	}
	if _, err := Open(ctx, Options{Dir: t.TempDir(), InMemory: true}); err == nil {
		t.Error("Open with Dir and InMemory succeeded")
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := openDir(t, dir)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode = %v, want 0700", fi.Mode().Perm())
	}
	if s.Path() != filepath.Join(dir, FileName) {
		t.Errorf("Path = %q", s.Path())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestInMemoryRemovedOnClose(t *testing.T) {
	s, err := Open(context.Background(), Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(s.Path())
	if _, err := os.Stat(s.Path()); err != nil {
		t.Fatalf("in-memory store file: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory still there after Close: %v", err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s := openDir(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Update(ctx, func(meetings.Tx) error { return nil }); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Update after Close = %v, want ErrUnavailable", err)
	}
	if err := s.View(ctx, func(meetings.ReadTx) error { return nil }); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("View after Close = %v, want ErrUnavailable", err)
	}
	if _, _, _, err := s.ReadAttendee(ctx, storetest.NewID(), storetest.NewID()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("ReadAttendee after Close = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping after Close = %v, want ErrUnavailable", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	ctx := context.Background()
	id := storetest.NewID()
	err := s.Update(ctx, func(tx meetings.Tx) error {
		return tx.InsertMeeting(ctx, meetings.MeetingRecord{ID: id, Account: "a", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close checkpointed the WAL into the database file.
	if fi, err := os.Stat(filepath.Join(dir, FileName+"-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("WAL not checkpointed on Close: %d bytes", fi.Size())
	}
	s = openDir(t, dir)
	defer s.Close()
	err = s.View(ctx, func(tx meetings.ReadTx) error { _, err := tx.Meeting(ctx, id); return err })
	if err != nil {
		t.Errorf("meeting after reopen: %v", err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	if _, err := s.w.Exec(`INSERT INTO schema_version (version, applied_at) VALUES (?, 0)`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema = %v, want ErrSchemaTooNew", err)
	}
}

func TestMigrationsRecorded(t *testing.T) {
	s := openDir(t, t.TempDir())
	defer s.Close()
	var n, max int
	if err := s.r.QueryRow(`SELECT count(*), max(version) FROM schema_version`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) || max != len(migrations) {
		t.Errorf("schema_version has %d rows up to %d, want %d", n, max, len(migrations))
	}
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} {
		var got string
		if err := s.w.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("writer PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

// A View hands out only the read methods, on a query-only connection.
func TestViewIsReadOnly(t *testing.T) {
	s := openDir(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	err := s.View(ctx, func(rtx meetings.ReadTx) error {
		if _, ok := rtx.(meetings.Tx); ok {
			t.Error("the ReadTx of a View is a Tx")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Even the connection refuses writes.
	sqlTx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlTx.Rollback()
	if err := (&tx{tx: sqlTx}).InsertMeeting(ctx, meetings.MeetingRecord{ID: "x"}); err == nil {
		t.Error("write on a reader connection succeeded")
	}
}

// ---- durability: kill -9 after acknowledged writes ----

const crashEnv = "CARILLON_SQLITE_CRASH_DIR"

// TestDurabilityChild is the child process of TestDurabilityKill9; it does
// nothing unless run by it.
func TestDurabilityChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child process of TestDurabilityKill9")
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: dir})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	meetingID := os.Getenv(crashEnv + "_MEETING")
	for i := 1; ; i++ {
		err := s.Update(ctx, func(tx meetings.Tx) error {
			m, err := tx.LockMeeting(ctx, meetingID)
			if err != nil {
				return err
			}
			m.Version = int64(i)
			if err := tx.UpdateMeeting(ctx, m); err != nil {
				return err
			}
			_, err = tx.InsertAttendee(ctx, meetings.AttendeeRecord{
				MeetingID: meetingID, ID: storetest.NewID(), ExternalUserID: fmt.Sprint("user-", i),
				Caps: meetings.Capabilities{Audio: "SendReceive", Video: "SendReceive", Content: "SendReceive"},
			})
			return err
		})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		// Acknowledge only after Update returned nil; unbuffered.
		fmt.Fprintf(os.Stdout, "ack %d\n", i)
	}
}

func TestDurabilityKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	ctx := context.Background()
	meetingID := storetest.NewID()
	s := openDir(t, dir)
	err := s.Update(ctx, func(tx meetings.Tx) error {
		return tx.InsertMeeting(ctx, meetings.MeetingRecord{ID: meetingID, Account: "a", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir, crashEnv+"_MEETING="+meetingID)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 150
	acked := 0
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v != acked+1 {
				t.Fatalf("child printed %q after ack %d", line, acked)
			}
			acked = v
		} else if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		if acked >= killAfter && !killed {
			// Mid-stream: the child is inside further Updates now.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	// Acks printed before the kill took effect are read above too.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before the kill after %d acks: %v", acked, err)
	}
	t.Logf("child killed with SIGKILL after %d acknowledged Updates", acked)

	s = openDir(t, dir)
	defer s.Close()
	err = s.View(ctx, func(tx meetings.ReadTx) error {
		m, err := tx.Meeting(ctx, meetingID)
		if err != nil {
			return err
		}
		if m.Version < int64(acked) {
			t.Errorf("Version after reopen = %d, want >= %d acknowledged", m.Version, acked)
		}
		n, err := tx.CountAttendees(ctx, meetingID)
		if err != nil {
			return err
		}
		if int64(n) != m.Version {
			t.Errorf("%d attendees but Version %d: a transaction was half applied", n, m.Version)
		}
		for i := 1; i <= acked; i++ {
			if _, err := tx.AttendeeByExternalUserID(ctx, meetingID, fmt.Sprint("user-", i)); err != nil {
				t.Errorf("acknowledged write %d lost: %v", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A second store on a data directory in use is refused at once (the live
// state relies on being the only writer); once the first closes, the
// directory opens again.
func TestDirInUse(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no data directory lock on Windows")
	}
	dir := t.TempDir()
	s := openDir(t, dir)
	if _, err := Open(context.Background(), Options{Dir: dir}); !errors.Is(err, ErrDirInUse) {
		t.Fatalf("second Open of %s = %v, want ErrDirInUse", dir, err)
	}
	if s.live == nil {
		t.Error("the live state is off on a locked directory")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}
