package postgres

import (
	"context"
	"testing"

	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// The benchmarks are storetest's (internal/store/storetest/bench.go, which
// says what each measures), under the same names as in
// internal/store/sqlite/bench_test.go, so that the two engines compare
// directly. Each runs on a fresh database; every Update is one committed
// transaction (durable on the server: synchronous_commit as configured
// there, on by default).
//
//	CARILLON_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' \
//	    go test -run '^$' -bench . -count 5 ./internal/store/postgres/

var bctx = context.Background()

// benchStore opens a store on a fresh database, or skips the benchmark
// when CARILLON_TEST_DATABASE_URL is unset.
func benchStore(b *testing.B) *Store {
	b.Helper()
	return openStore(b, Options{})
}

func BenchmarkUpdateEmpty(b *testing.B)    { storetest.BenchUpdateEmpty(b, benchStore(b)) }
func BenchmarkViewEmpty(b *testing.B)      { storetest.BenchViewEmpty(b, benchStore(b)) }
func BenchmarkInsertMeeting(b *testing.B)  { storetest.BenchInsertMeeting(b, benchStore(b)) }
func BenchmarkMeeting(b *testing.B)        { storetest.BenchMeeting(b, benchStore(b)) }
func BenchmarkMeetingByToken(b *testing.B) { storetest.BenchMeetingByToken(b, benchStore(b)) }
func BenchmarkLockAndUpdateMeeting(b *testing.B) {
	storetest.BenchLockAndUpdateMeeting(b, benchStore(b))
}
func BenchmarkDeleteMeeting250(b *testing.B) { storetest.BenchDeleteMeeting250(b, benchStore(b)) }
func BenchmarkInsertAttendee(b *testing.B)   { storetest.BenchInsertAttendee(b, benchStore(b)) }
func BenchmarkCreateAttendee(b *testing.B)   { storetest.BenchCreateAttendee(b, benchStore(b)) }
func BenchmarkAttendee(b *testing.B)         { storetest.BenchAttendee(b, benchStore(b)) }
func BenchmarkGetAttendeeView(b *testing.B)  { storetest.BenchGetAttendeeView(b, benchStore(b)) }
func BenchmarkReadAttendee(b *testing.B)     { storetest.BenchReadAttendee(b, benchStore(b)) }
func BenchmarkAttendeeByExternalUserID(b *testing.B) {
	storetest.BenchAttendeeByExternalUserID(b, benchStore(b))
}
func BenchmarkAttendeesPage100(b *testing.B)  { storetest.BenchAttendeesPage100(b, benchStore(b)) }
func BenchmarkCountAttendees250(b *testing.B) { storetest.BenchCountAttendees250(b, benchStore(b)) }
func BenchmarkSetAttendeeCaps(b *testing.B)   { storetest.BenchSetAttendeeCaps(b, benchStore(b)) }
func BenchmarkDeleteAttendee(b *testing.B)    { storetest.BenchDeleteAttendee(b, benchStore(b)) }

// benchBatchExcept is storetest.BenchBatchExcept with the table-growth-MB
// metric: the growth of the meetings and attendees tables (with indexes)
// over the run. A batch rewrites the meeting row only (the PinRows
// variant also the 5 excluded attendees), as HOT updates, so this stays
// near zero however many batches.
func benchBatchExcept(b *testing.B, n int, pinRows bool) {
	s := benchStore(b)
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
	storetest.BenchBatchExcept(b, s, n, storetest.BatchExceptOptions{PinRows: pinRows, Size: size})
}

func BenchmarkBatchExcept250(b *testing.B)   { benchBatchExcept(b, 250, false) }
func BenchmarkBatchExcept10000(b *testing.B) { benchBatchExcept(b, 10000, false) }

// BenchmarkBatchExcept250PinRows is the batch-except of before BatchPins
// (one UPDATE per excluded attendee), for comparison in one binary.
func BenchmarkBatchExcept250PinRows(b *testing.B) { benchBatchExcept(b, 250, true) }

func BenchmarkPutTags(b *testing.B)         { storetest.BenchPutTags(b, benchStore(b)) }
func BenchmarkDeleteTags(b *testing.B)      { storetest.BenchDeleteTags(b, benchStore(b)) }
func BenchmarkTags(b *testing.B)            { storetest.BenchTags(b, benchStore(b)) }
func BenchmarkExpiredMeetings(b *testing.B) { storetest.BenchExpiredMeetings(b, benchStore(b)) }
func BenchmarkReplicas(b *testing.B)        { storetest.BenchReplicas(b, benchStore(b)) }
func BenchmarkParallelViews(b *testing.B)   { storetest.BenchParallelViews(b, benchStore(b)) }
