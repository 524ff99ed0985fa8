package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// The benchmarks mirror internal/store/sqlite/bench_test.go (same names,
// same operations) so that the two engines compare directly. Each runs on
// a fresh database; every Update is one committed transaction (durable on
// the server: synchronous_commit as configured there, on by default).
//
//	CARILLON_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' \
//	    go test -run '^$' -bench . -count 5 ./internal/store/postgres/

var bctx = context.Background()

var sendRecv = meetings.Capabilities{Audio: meetings.SendReceive, Video: meetings.SendReceive, Content: meetings.SendReceive}

func benchStore(b *testing.B) *Store {
	b.Helper()
	return openStore(b, Options{})
}

func benchMeeting() meetings.MeetingRecord {
	id := storetest.NewID()
	return meetings.MeetingRecord{
		ID: id, Account: "111122223333", ARN: "arn:aws:chime:us-east-1:111122223333:meeting/" + id,
		MediaRegion: "us-east-1", TenantIDs: []string{"t1"}, CreatedAt: time.Now(),
		Features:  meetings.Features{Video: &meetings.VideoFeatures{MaxResolution: "HD"}},
		TokenHash: "tok-" + id, RequestHash: "req-" + id,
	}
}

func benchAttendee(meetingID string, i int) meetings.AttendeeRecord {
	return meetings.AttendeeRecord{
		MeetingID: meetingID, ID: storetest.NewID(), ExternalUserID: fmt.Sprintf("user-%06d", i),
		JoinToken: "jt-" + storetest.NewID(), Caps: sendRecv, CapsVersion: 0,
	}
}

// seed stores a meeting with n attendees and returns it and them.
func seed(b *testing.B, s *Store, n int) (meetings.MeetingRecord, []meetings.AttendeeRecord) {
	b.Helper()
	m := benchMeeting()
	as := make([]meetings.AttendeeRecord, n)
	err := s.Update(bctx, func(tx meetings.Tx) error {
		if err := tx.InsertMeeting(bctx, m); err != nil {
			return err
		}
		for i := range as {
			as[i] = benchAttendee(m.ID, i)
			seq, err := tx.InsertAttendee(bctx, as[i])
			if err != nil {
				return err
			}
			as[i].Seq = seq
		}
		return tx.PutTags(bctx, m.ID, []meetings.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}, {Key: "c", Value: "3"}})
	})
	if err != nil {
		b.Fatal(err)
	}
	return m, as
}

func mustUpdate(b *testing.B, s *Store, fn func(tx meetings.Tx) error) {
	if err := s.Update(bctx, fn); err != nil {
		b.Fatal(err)
	}
}

func mustView(b *testing.B, s *Store, fn func(tx meetings.ReadTx) error) {
	if err := s.View(bctx, fn); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkUpdateEmpty(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		mustUpdate(b, s, func(tx meetings.Tx) error { return nil })
	}
}

func BenchmarkViewEmpty(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { return nil })
	}
}

func BenchmarkInsertMeeting(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		m := benchMeeting()
		mustUpdate(b, s, func(tx meetings.Tx) error { return tx.InsertMeeting(bctx, m) })
	}
}

func BenchmarkMeeting(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 10)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.Meeting(bctx, m.ID); return err })
	}
}

func BenchmarkMeetingByToken(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 10)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error {
			_, err := tx.MeetingByToken(bctx, m.Account, m.TokenHash)
			return err
		})
	}
}

func BenchmarkLockAndUpdateMeeting(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 10)
	for b.Loop() {
		mustUpdate(b, s, func(tx meetings.Tx) error {
			cur, err := tx.LockMeeting(bctx, m.ID)
			if err != nil {
				return err
			}
			cur.Version++
			return tx.UpdateMeeting(bctx, cur)
		})
	}
}

func BenchmarkDeleteMeeting250(b *testing.B) {
	s := benchStore(b)
	for b.Loop() {
		b.StopTimer()
		m, _ := seed(b, s, 250)
		b.StartTimer()
		mustUpdate(b, s, func(tx meetings.Tx) error { return tx.DeleteMeeting(bctx, m.ID) })
	}
}

func BenchmarkInsertAttendee(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 0)
	i := 0
	for b.Loop() {
		a := benchAttendee(m.ID, i)
		i++
		mustUpdate(b, s, func(tx meetings.Tx) error { _, err := tx.InsertAttendee(bctx, a); return err })
	}
}

// BenchmarkCreateAttendee is the domain's CreateAttendee: lock, count,
// look the ExternalUserId up, insert.
func BenchmarkCreateAttendee(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 0)
	i := 0
	for b.Loop() {
		a := benchAttendee(m.ID, i)
		i++
		mustUpdate(b, s, func(tx meetings.Tx) error {
			if _, err := tx.LockMeeting(bctx, m.ID); err != nil {
				return err
			}
			if _, err := tx.CountAttendees(bctx, m.ID); err != nil {
				return err
			}
			if _, err := tx.AttendeeByExternalUserID(bctx, m.ID, a.ExternalUserID); err == nil {
				return fmt.Errorf("unexpected attendee")
			}
			_, err := tx.InsertAttendee(bctx, a)
			return err
		})
	}
}

func BenchmarkAttendee(b *testing.B) {
	s := benchStore(b)
	m, as := seed(b, s, 250)
	i := 0
	for b.Loop() {
		id := as[i%len(as)].ID
		i++
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.Attendee(bctx, m.ID, id); return err })
	}
}

// BenchmarkGetAttendeeView is GetAttendee's store work before ReadAttendee:
// a read transaction with the meeting's and the attendee's SELECTs.
func BenchmarkGetAttendeeView(b *testing.B) {
	s := benchStore(b)
	m, as := seed(b, s, 250)
	i := 0
	for b.Loop() {
		id := as[i%len(as)].ID
		i++
		mustView(b, s, func(tx meetings.ReadTx) error {
			if _, err := tx.Meeting(bctx, m.ID); err != nil {
				return err
			}
			_, err := tx.Attendee(bctx, m.ID, id)
			return err
		})
	}
}

// BenchmarkReadAttendee is GetAttendee's store work: one SELECT, no
// transaction.
func BenchmarkReadAttendee(b *testing.B) {
	s := benchStore(b)
	m, as := seed(b, s, 250)
	i := 0
	for b.Loop() {
		id := as[i%len(as)].ID
		i++
		if _, _, found, err := s.ReadAttendee(bctx, m.ID, id); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

func BenchmarkAttendeeByExternalUserID(b *testing.B) {
	s := benchStore(b)
	m, as := seed(b, s, 250)
	i := 0
	for b.Loop() {
		ext := as[i%len(as)].ExternalUserID
		i++
		mustView(b, s, func(tx meetings.ReadTx) error {
			_, err := tx.AttendeeByExternalUserID(bctx, m.ID, ext)
			return err
		})
	}
}

// BenchmarkAttendeesPage100 reads one ListAttendees page (D19 default size).
func BenchmarkAttendeesPage100(b *testing.B) {
	s := benchStore(b)
	m, as := seed(b, s, 250)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error {
			page, err := tx.Attendees(bctx, m.ID, as[50].Seq, 100)
			if len(page) != 100 {
				b.Fatalf("page of %d", len(page))
			}
			return err
		})
	}
}

func BenchmarkCountAttendees250(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 250)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.CountAttendees(bctx, m.ID); return err })
	}
}

func BenchmarkSetAttendeeCaps(b *testing.B) {
	s := benchStore(b)
	m, as := seed(b, s, 250)
	v := int64(0)
	for b.Loop() {
		v++
		id := as[int(v)%len(as)].ID
		mustUpdate(b, s, func(tx meetings.Tx) error {
			return tx.SetAttendeeCaps(bctx, m.ID, id, meetings.Capabilities{Audio: "Send", Video: "None", Content: "None"}, v)
		})
	}
}

func BenchmarkDeleteAttendee(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 0)
	i := 0
	for b.Loop() {
		b.StopTimer()
		a := benchAttendee(m.ID, i)
		i++
		mustUpdate(b, s, func(tx meetings.Tx) error { _, err := tx.InsertAttendee(bctx, a); return err })
		b.StartTimer()
		mustUpdate(b, s, func(tx meetings.Tx) error { return tx.DeleteAttendee(bctx, m.ID, a.ID) })
	}
}

func benchBatchExcept(b *testing.B, n int, perRow bool) {
	s := benchStore(b)
	m, as := seed(b, s, n)
	excluded := []string{as[0].ID, as[n/4].ID, as[n/2].ID, as[3*n/4].ID, as[n-1].ID}
	caps := []meetings.Capabilities{
		{Audio: "Send", Video: "None", Content: "None"},
		{Audio: "SendReceive", Video: "Receive", Content: "Receive"},
	}
	size := func() float64 {
		var n int64
		if err := s.View(bctx, func(meetings.ReadTx) error { return nil }); err != nil {
			b.Fatal(err)
		}
		if err := s.pool.QueryRow(bctx, `SELECT pg_total_relation_size('attendees') + pg_total_relation_size('meetings')`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return float64(n) / (1 << 20)
	}
	before := size()
	i := 0
	for b.Loop() {
		c := caps[i%2]
		i++
		// As the domain does it (D7-D10): lock, pin the excluded attendees'
		// effective triples at the new version (one statement, or one
		// SELECT and one UPDATE each when perRow), record the batch.
		mustUpdate(b, s, func(tx meetings.Tx) error {
			cur, err := tx.LockMeeting(bctx, m.ID)
			if err != nil {
				return err
			}
			version := cur.Version + 1
			if !perRow {
				if _, err := tx.PinAttendees(bctx, cur.ID, excluded, cur.Batch, cur.BatchVersion, version); err != nil {
					return err
				}
			} else {
				for _, id := range excluded {
					a, err := tx.Attendee(bctx, cur.ID, id)
					if err != nil {
						return err
					}
					if err := tx.SetAttendeeCaps(bctx, cur.ID, id, meetings.EffectiveCapabilities(&cur, &a), version); err != nil {
						return err
					}
				}
			}
			cur.Version, cur.Batch, cur.BatchVersion = version, &c, version
			return tx.UpdateMeeting(bctx, cur)
		})
	}
	// Growth of the meetings and attendees tables (with indexes) over the
	// run: a batch rewrites the meeting row and the 5 excluded attendees
	// only, as HOT updates, so this stays near zero however many batches.
	b.ReportMetric(size()-before, "table-growth-MB")
}

func BenchmarkBatchExcept250(b *testing.B)   { benchBatchExcept(b, 250, false) }
func BenchmarkBatchExcept10000(b *testing.B) { benchBatchExcept(b, 10000, false) }

// BenchmarkBatchExcept250PerRow is the batch-except of before PinAttendees,
// for comparison in one binary.
func BenchmarkBatchExcept250PerRow(b *testing.B) { benchBatchExcept(b, 250, true) }

func BenchmarkPutTags(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 0)
	i := 0
	for b.Loop() {
		i++
		tags := []meetings.Tag{{Key: "k1", Value: fmt.Sprint(i)}, {Key: "k2", Value: "v"}, {Key: fmt.Sprint("n", i%40), Value: "v"}}
		mustUpdate(b, s, func(tx meetings.Tx) error { return tx.PutTags(bctx, m.ID, tags) })
	}
}

func BenchmarkDeleteTags(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 0)
	for b.Loop() {
		mustUpdate(b, s, func(tx meetings.Tx) error {
			if err := tx.DeleteTags(bctx, m.ID, []string{"a", "b"}); err != nil {
				return err
			}
			return tx.PutTags(bctx, m.ID, []meetings.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}})
		})
	}
}

func BenchmarkTags(b *testing.B) {
	s := benchStore(b)
	m, _ := seed(b, s, 0)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.Tags(bctx, m.ID); return err })
	}
}

func BenchmarkExpiredMeetings(b *testing.B) {
	s := benchStore(b)
	mustUpdate(b, s, func(tx meetings.Tx) error {
		for i := range 1000 {
			m := benchMeeting()
			m.CreatedAt = time.Now().Add(-time.Duration(i) * time.Minute)
			if err := tx.InsertMeeting(bctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	cut := time.Now().Add(-500 * time.Minute)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error {
			ids, err := tx.ExpiredMeetings(bctx, cut, 100)
			if len(ids) != 100 {
				b.Fatalf("%d ids", len(ids))
			}
			return err
		})
	}
}

func BenchmarkReplicas(b *testing.B) {
	s := benchStore(b)
	p := benchMeeting()
	mustUpdate(b, s, func(tx meetings.Tx) error {
		if err := tx.InsertMeeting(bctx, p); err != nil {
			return err
		}
		for range 1000 {
			m := benchMeeting()
			if err := tx.InsertMeeting(bctx, m); err != nil {
				return err
			}
		}
		for range 5 {
			m := benchMeeting()
			m.PrimaryMeetingID = p.ID
			if err := tx.InsertMeeting(bctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.Replicas(bctx, p.ID); return err })
	}
}

// BenchmarkParallelViews measures concurrent readers (WAL, reader pool).
func BenchmarkParallelViews(b *testing.B) {
	s := benchStore(b)
	m, as := seed(b, s, 250)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			id := as[i%len(as)].ID
			i++
			if err := s.View(bctx, func(tx meetings.ReadTx) error {
				if _, err := tx.Meeting(bctx, m.ID); err != nil {
					return err
				}
				_, err := tx.Attendee(bctx, m.ID, id)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
