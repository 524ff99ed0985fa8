package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// The benchmarks shared by the engines. Each engine's bench_test.go opens a
// fresh store and calls these from Benchmark functions of the same names
// (BenchmarkMeeting calls BenchMeeting, and so on), so that the engines
// compare directly. The store is the caller's to close (b.Cleanup).

var sendRecv = meetings.Capabilities{Audio: meetings.SendReceive, Video: meetings.SendReceive, Content: meetings.SendReceive}

func benchMeeting() meetings.MeetingRecord {
	id := NewID()
	return meetings.MeetingRecord{
		ID: id, Account: "111122223333", ARN: "arn:aws:chime:us-east-1:111122223333:meeting/" + id,
		MediaRegion: "us-east-1", TenantIDs: []string{"t1"}, CreatedAt: time.Now(),
		Features:  meetings.Features{Video: &meetings.VideoFeatures{MaxResolution: "HD"}},
		TokenHash: "tok-" + id, RequestHash: "req-" + id,
	}
}

func benchAttendee(meetingID string, i int) meetings.AttendeeRecord {
	return meetings.AttendeeRecord{
		MeetingID: meetingID, ID: NewID(), ExternalUserID: fmt.Sprintf("user-%06d", i),
		JoinToken: "jt-" + NewID(), Caps: sendRecv, CapsVersion: 0,
	}
}

// Seed stores a meeting with n attendees and returns it and them.
func Seed(b *testing.B, s meetings.Store, n int) (meetings.MeetingRecord, []meetings.AttendeeRecord) {
	b.Helper()
	m := benchMeeting()
	as := make([]meetings.AttendeeRecord, n)
	err := s.Update(ctx, func(tx meetings.Tx) error {
		if err := tx.InsertMeeting(ctx, m); err != nil {
			return err
		}
		for i := range as {
			as[i] = benchAttendee(m.ID, i)
			seq, err := tx.InsertAttendee(ctx, as[i])
			if err != nil {
				return err
			}
			as[i].Seq = seq
		}
		return tx.PutTags(ctx, m.ID, []meetings.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}, {Key: "c", Value: "3"}})
	})
	if err != nil {
		b.Fatal(err)
	}
	return m, as
}

func mustUpdate(b *testing.B, s meetings.Store, fn func(tx meetings.Tx) error) {
	if err := s.Update(ctx, fn); err != nil {
		b.Fatal(err)
	}
}

func mustView(b *testing.B, s meetings.Store, fn func(tx meetings.ReadTx) error) {
	if err := s.View(ctx, fn); err != nil {
		b.Fatal(err)
	}
}

func BenchUpdateEmpty(b *testing.B, s meetings.Store) {
	for b.Loop() {
		mustUpdate(b, s, func(tx meetings.Tx) error { return nil })
	}
}

func BenchViewEmpty(b *testing.B, s meetings.Store) {
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { return nil })
	}
}

func BenchInsertMeeting(b *testing.B, s meetings.Store) {
	for b.Loop() {
		m := benchMeeting()
		mustUpdate(b, s, func(tx meetings.Tx) error { return tx.InsertMeeting(ctx, m) })
	}
}

func BenchMeeting(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 10)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.Meeting(ctx, m.ID); return err })
	}
}

func BenchMeetingByToken(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 10)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error {
			_, err := tx.MeetingByToken(ctx, m.Account, m.TokenHash)
			return err
		})
	}
}

func BenchLockAndUpdateMeeting(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 10)
	for b.Loop() {
		mustUpdate(b, s, func(tx meetings.Tx) error {
			cur, err := tx.LockMeeting(ctx, m.ID)
			if err != nil {
				return err
			}
			cur.Version++
			return tx.UpdateMeeting(ctx, cur)
		})
	}
}

func BenchDeleteMeeting250(b *testing.B, s meetings.Store) {
	for b.Loop() {
		b.StopTimer()
		m, _ := Seed(b, s, 250)
		b.StartTimer()
		mustUpdate(b, s, func(tx meetings.Tx) error { return tx.DeleteMeeting(ctx, m.ID) })
	}
}

func BenchInsertAttendee(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 0)
	i := 0
	for b.Loop() {
		a := benchAttendee(m.ID, i)
		i++
		mustUpdate(b, s, func(tx meetings.Tx) error { _, err := tx.InsertAttendee(ctx, a); return err })
	}
}

// BenchCreateAttendee is the domain's CreateAttendee: lock, count,
// look the ExternalUserId up, insert.
func BenchCreateAttendee(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 0)
	i := 0
	for b.Loop() {
		a := benchAttendee(m.ID, i)
		i++
		mustUpdate(b, s, func(tx meetings.Tx) error {
			if _, err := tx.LockMeeting(ctx, m.ID); err != nil {
				return err
			}
			if _, err := tx.CountAttendees(ctx, m.ID); err != nil {
				return err
			}
			if _, err := tx.AttendeeByExternalUserID(ctx, m.ID, a.ExternalUserID); err == nil {
				return fmt.Errorf("unexpected attendee")
			}
			_, err := tx.InsertAttendee(ctx, a)
			return err
		})
	}
}

func BenchAttendee(b *testing.B, s meetings.Store) {
	m, as := Seed(b, s, 250)
	i := 0
	for b.Loop() {
		id := as[i%len(as)].ID
		i++
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.Attendee(ctx, m.ID, id); return err })
	}
}

// getAttendeeView is GetAttendee's read transaction before ReadAttendee:
// the meeting's and the attendee's SELECTs.
func getAttendeeView(tx meetings.ReadTx, meetingID, attendeeID string) error {
	if _, err := tx.Meeting(ctx, meetingID); err != nil {
		return err
	}
	_, err := tx.Attendee(ctx, meetingID, attendeeID)
	return err
}

// BenchGetAttendeeView is GetAttendee's store work before ReadAttendee:
// a read transaction with the meeting's and the attendee's SELECTs.
func BenchGetAttendeeView(b *testing.B, s meetings.Store) {
	m, as := Seed(b, s, 250)
	i := 0
	for b.Loop() {
		id := as[i%len(as)].ID
		i++
		mustView(b, s, func(tx meetings.ReadTx) error { return getAttendeeView(tx, m.ID, id) })
	}
}

// BenchReadAttendee is GetAttendee's store work: one SELECT, no
// transaction.
func BenchReadAttendee(b *testing.B, s meetings.Store) {
	m, as := Seed(b, s, 250)
	i := 0
	for b.Loop() {
		id := as[i%len(as)].ID
		i++
		if _, _, found, err := s.ReadAttendee(ctx, m.ID, id); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

func BenchAttendeeByExternalUserID(b *testing.B, s meetings.Store) {
	m, as := Seed(b, s, 250)
	i := 0
	for b.Loop() {
		ext := as[i%len(as)].ExternalUserID
		i++
		mustView(b, s, func(tx meetings.ReadTx) error {
			_, err := tx.AttendeeByExternalUserID(ctx, m.ID, ext)
			return err
		})
	}
}

// BenchAttendeesPage100 reads one ListAttendees page (D19 default size).
func BenchAttendeesPage100(b *testing.B, s meetings.Store) {
	m, as := Seed(b, s, 250)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error {
			page, err := tx.Attendees(ctx, m.ID, as[50].Seq, 100)
			if len(page) != 100 {
				b.Fatalf("page of %d", len(page))
			}
			return err
		})
	}
}

func BenchCountAttendees250(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 250)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.CountAttendees(ctx, m.ID); return err })
	}
}

func BenchSetAttendeeCaps(b *testing.B, s meetings.Store) {
	m, as := Seed(b, s, 250)
	v := int64(0)
	for b.Loop() {
		v++
		id := as[int(v)%len(as)].ID
		mustUpdate(b, s, func(tx meetings.Tx) error {
			return tx.SetAttendeeCaps(ctx, m.ID, id, meetings.Capabilities{Audio: "Send", Video: "None", Content: "None"}, v)
		})
	}
}

func BenchDeleteAttendee(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 0)
	i := 0
	for b.Loop() {
		b.StopTimer()
		a := benchAttendee(m.ID, i)
		i++
		mustUpdate(b, s, func(tx meetings.Tx) error { _, err := tx.InsertAttendee(ctx, a); return err })
		b.StartTimer()
		mustUpdate(b, s, func(tx meetings.Tx) error { return tx.DeleteAttendee(ctx, m.ID, a.ID) })
	}
}

// BatchCaps are the two batch triples that successive batch-excepts
// alternate between.
var BatchCaps = []meetings.Capabilities{
	{Audio: "Send", Video: "None", Content: "None"},
	{Audio: "SendReceive", Video: "Receive", Content: "Receive"},
}

// ExcludedOf picks the 5 excluded attendees of a batch-except.
func ExcludedOf(as []meetings.AttendeeRecord) []string {
	n := len(as)
	return []string{as[0].ID, as[n/4].ID, as[n/2].ID, as[3*n/4].ID, as[n-1].ID}
}

// BatchExcept is one BatchUpdateAttendeeCapabilitiesExcept as the domain
// does it (D7-D10): lock the meeting, read the excluded attendees that
// exist, and write the batch with their current triples as its pins (the
// domain also records an event).
func BatchExcept(s meetings.Store, meetingID string, excluded []string, c meetings.Capabilities) error {
	return s.Update(ctx, func(tx meetings.Tx) error {
		cur, err := tx.LockMeeting(ctx, meetingID)
		if err != nil {
			return err
		}
		found, err := tx.AttendeesByID(ctx, cur.ID, excluded)
		if err != nil {
			return err
		}
		version := cur.Version + 1
		cur.Version, cur.Batch, cur.BatchVersion, cur.BatchPins = version, &c, version, meetings.PinsFor(&cur, found)
		return tx.UpdateMeeting(ctx, cur)
	})
}

// BatchExceptPinRows is BatchExcept as the domain did it before BatchPins:
// each excluded attendee's row gets its current triple at the new version
// (one UPDATE each), and the meeting only the batch.
func BatchExceptPinRows(s meetings.Store, meetingID string, excluded []string, c meetings.Capabilities) error {
	return s.Update(ctx, func(tx meetings.Tx) error {
		cur, err := tx.LockMeeting(ctx, meetingID)
		if err != nil {
			return err
		}
		found, err := tx.AttendeesByID(ctx, cur.ID, excluded)
		if err != nil {
			return err
		}
		version := cur.Version + 1
		for i := range found {
			if err := tx.SetAttendeeCaps(ctx, cur.ID, found[i].ID, meetings.EffectiveCapabilities(&cur, &found[i]), version); err != nil {
				return err
			}
		}
		cur.Version, cur.Batch, cur.BatchVersion, cur.BatchPins = version, &c, version, nil
		return tx.UpdateMeeting(ctx, cur)
	})
}

// BatchExceptOptions are BenchBatchExcept's variants.
type BatchExceptOptions struct {
	// PinRows runs BatchExceptPinRows, the batch-except of before
	// BatchPins, instead of BatchExcept.
	PinRows bool
	// Size, if set, returns the size in MB of the engine's meetings and
	// attendees tables. It is called before and after the timed loop, and
	// the difference is reported as the metric table-growth-MB.
	Size func() float64
}

// BenchBatchExcept runs batch-excepts one after the other on a meeting of n
// attendees, excluding 5 of them (ExcludedOf).
func BenchBatchExcept(b *testing.B, s meetings.Store, n int, o BatchExceptOptions) {
	op := BatchExcept
	if o.PinRows {
		op = BatchExceptPinRows
	}
	m, as := Seed(b, s, n)
	excluded := ExcludedOf(as)
	var before float64
	if o.Size != nil {
		before = o.Size()
	}
	i := 0
	for b.Loop() {
		c := BatchCaps[i%2]
		i++
		if err := op(s, m.ID, excluded, c); err != nil {
			b.Fatal(err)
		}
	}
	if o.Size != nil {
		b.ReportMetric(o.Size()-before, "table-growth-MB")
	}
}

func BenchPutTags(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 0)
	i := 0
	for b.Loop() {
		i++
		tags := []meetings.Tag{{Key: "k1", Value: fmt.Sprint(i)}, {Key: "k2", Value: "v"}, {Key: fmt.Sprint("n", i%40), Value: "v"}}
		mustUpdate(b, s, func(tx meetings.Tx) error { return tx.PutTags(ctx, m.ID, tags) })
	}
}

func BenchDeleteTags(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 0)
	for b.Loop() {
		mustUpdate(b, s, func(tx meetings.Tx) error {
			if err := tx.DeleteTags(ctx, m.ID, []string{"a", "b"}); err != nil {
				return err
			}
			return tx.PutTags(ctx, m.ID, []meetings.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}})
		})
	}
}

func BenchTags(b *testing.B, s meetings.Store) {
	m, _ := Seed(b, s, 0)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.Tags(ctx, m.ID); return err })
	}
}

func BenchExpiredMeetings(b *testing.B, s meetings.Store) {
	mustUpdate(b, s, func(tx meetings.Tx) error {
		for i := range 1000 {
			m := benchMeeting()
			m.CreatedAt = time.Now().Add(-time.Duration(i) * time.Minute)
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	cut := time.Now().Add(-500 * time.Minute)
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error {
			ids, err := tx.ExpiredMeetings(ctx, cut, 100)
			if len(ids) != 100 {
				b.Fatalf("%d ids", len(ids))
			}
			return err
		})
	}
}

func BenchReplicas(b *testing.B, s meetings.Store) {
	p := benchMeeting()
	mustUpdate(b, s, func(tx meetings.Tx) error {
		if err := tx.InsertMeeting(ctx, p); err != nil {
			return err
		}
		for range 1000 {
			m := benchMeeting()
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
		}
		for range 5 {
			m := benchMeeting()
			m.PrimaryMeetingID = p.ID
			if err := tx.InsertMeeting(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	for b.Loop() {
		mustView(b, s, func(tx meetings.ReadTx) error { _, err := tx.Replicas(ctx, p.ID); return err })
	}
}

// BenchParallelViews measures concurrent readers (WAL, reader pool): the
// read transaction of BenchGetAttendeeView from GOMAXPROCS goroutines.
func BenchParallelViews(b *testing.B, s meetings.Store) {
	m, as := Seed(b, s, 250)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			id := as[i%len(as)].ID
			i++
			mustView(b, s, func(tx meetings.ReadTx) error { return getAttendeeView(tx, m.ID, id) })
		}
	})
}
