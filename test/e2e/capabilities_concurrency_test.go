package e2e

// D10: every write is atomic and concurrent writes to one meeting serialize;
// none is lost, none is half-applied, and ordinary concurrency is not a
// ConflictException.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
)

// allowedDistinct returns n distinct triples allowed on a default meeting,
// none equal to avoid, starting at offset in the list of allowed triples.
func allowedDistinct(n, offset int, avoid triple) []triple {
	var all []triple
	for _, tr := range allTriples() {
		if capsAllowed(featureConfig{}, tr) && tr != avoid {
			all = append(all, tr)
		}
	}
	if offset+n > len(all) {
		panic("not enough allowed triples")
	}
	return all[offset : offset+n]
}

// serialOrderExists reports whether final equals the result of applying the
// batches in some serial order to initial. A batch b sets every attendee not
// in excl[b] to caps[b].
//
// It builds the order from the end: the last batch b must have set every
// attendee it did not exclude, so all of them hold caps[b]; the attendees b
// excluded are explained by the remaining batches, recursively; attendees no
// remaining batch touches must still hold their initial triple. Choosing any
// batch that fits is safe: if some valid order exists, moving a fitting
// batch to its end leaves every attendee's final triple unchanged (those it
// sets already hold its triple; the rest never see it), so greedy never
// rules out a solution. It returns the order found (first to last).
func serialOrderExists(initial, final []triple, caps []triple, excl []map[int]bool) ([]int, bool) {
	unresolved := make(map[int]bool, len(final))
	for i := range final {
		unresolved[i] = true
	}
	remaining := make(map[int]bool, len(caps))
	for b := range caps {
		remaining[b] = true
	}
	var reversed []int
	for len(remaining) > 0 {
		chosen := -1
		for b := range caps {
			if !remaining[b] {
				continue
			}
			fits := true
			for i := range unresolved {
				if !excl[b][i] && final[i] != caps[b] {
					fits = false
					break
				}
			}
			if fits {
				chosen = b
				break
			}
		}
		if chosen < 0 {
			return reversed, false
		}
		reversed = append(reversed, chosen)
		delete(remaining, chosen)
		for i := range unresolved {
			if !excl[chosen][i] {
				delete(unresolved, i)
			}
		}
	}
	for i := range unresolved {
		if final[i] != initial[i] {
			return reversed, false
		}
	}
	order := make([]int, len(reversed))
	for i, b := range reversed {
		order[len(reversed)-1-i] = b
	}
	return order, true
}

// TestCapabilitiesSerialOrderChecker makes sure the checker above can fail:
// a half-applied batch and a lost batch have no serial explanation.
func TestCapabilitiesSerialOrderChecker(t *testing.T) {
	x, y, z, i0 := triple{sr, recv, none}, triple{recv, recv, recv}, triple{none, none, none}, triple{sr, sr, sr}
	initial := []triple{i0, i0, i0, i0}
	caps := []triple{x, y}
	excl := []map[int]bool{{0: true}, {1: true}}
	for _, tc := range []struct {
		final []triple
		ok    bool
	}{
		{[]triple{y, x, y, y}, true},   // x then y
		{[]triple{y, x, x, x}, true},   // y then x
		{[]triple{y, x, x, y}, false},  // neither order: torn
		{[]triple{i0, x, x, x}, false}, // y lost: attendee 0 never set
		{[]triple{y, x, z, x}, false},  // a triple nobody asked for
	} {
		if _, ok := serialOrderExists(initial, tc.final, caps, excl); ok != tc.ok {
			t.Errorf("final %v: serial order exists = %v, want %v", tc.final, ok, tc.ok)
		}
	}
}

// TestCapabilitiesConcurrentBatchesSerialize (D10): 20 concurrent
// BatchUpdateAttendeeCapabilitiesExcept calls with different triples and
// different exclusion sets on a 100-attendee meeting. All succeed (no
// ConflictException for ordinary concurrency); afterwards every attendee that
// no batch excluded holds one identical triple, which is one of the requested
// ones, and the whole final state equals applying the 20 batches in some
// serial order (so none was lost or half-applied).
func TestCapabilitiesConcurrentBatchesSerialize(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		c := startServer(t, e).client(t)
		mid := newMeeting(t, c, "d10-batches", nil)
		ids := addAttendees(t, c, mid, "cc", 100, nil)
		before := snapshot(t, c, mid)
		initial := make([]triple, len(before))
		for i, a := range before {
			initial[i] = a.Caps // SendReceive x3, not among the batches' triples
		}

		const batches = 20
		caps := allowedDistinct(batches, 0, triple{sr, sr, sr})
		rng := rand.New(rand.NewPCG(10, 20))
		excl := make([]map[int]bool, batches)
		lists := make([][]string, batches)
		for b := range batches {
			excl[b] = map[int]bool{}
			// Attendees 0..79 are each excluded by about a third of the
			// batches; 80..99 by none. Every list also carries D8 noise.
			for i := range 80 {
				if rng.IntN(3) == 0 {
					excl[b][i] = true
					lists[b] = append(lists[b], ids[i])
				}
			}
			lists[b] = append(lists[b], "", fmt.Sprintf("00000000-0000-4000-8000-%012d", b))
		}

		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, batches)
		for b := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[b] = batchExcept(c, mid, lists[b], caps[b])
			}()
		}
		close(start)
		wg.Wait()
		for b, err := range errs {
			if err != nil {
				t.Errorf("batch %d: %v (D10: concurrent batches must all succeed)", b, err)
			}
		}

		after := snapshot(t, c, mid)
		if len(after) != 100 {
			t.Fatalf("%d attendees after, want 100", len(after))
		}
		final := make([]triple, len(after))
		for i, a := range after {
			if a.ID != before[i].ID || a.JoinToken != before[i].JoinToken {
				t.Fatalf("attendee %d identity changed", i)
			}
			final[i] = a.Caps
		}
		// Attendees no batch excluded: one identical triple, a requested one.
		last := final[80]
		requested := false
		for _, tr := range caps {
			requested = requested || tr == last
		}
		if !requested {
			t.Errorf("attendee 80 has %v, which no batch requested", last)
		}
		for i := 80; i < 100; i++ {
			if final[i] != last {
				t.Errorf("attendees excluded by no batch disagree: attendee %d has %v, attendee 80 has %v", i, final[i], last)
			}
		}
		order, ok := serialOrderExists(initial, final, caps, excl)
		if !ok {
			t.Errorf("the final state is not the result of any serial order of the batches (D10); partial order from the end: %v\nfinal: %v", order, final)
		} else {
			t.Logf("consistent with serial order %v", order)
		}
		// GetAttendee agrees with ListAttendees.
		for _, i := range []int{0, 41, 79, 80, 99} {
			if got := getCaps(t, c, mid, ids[i]); got != final[i] {
				t.Errorf("attendee %d: GetAttendee %v, ListAttendees %v", i, got, final[i])
			}
		}
	})
}

// TestCapabilitiesConcurrentUpdateAndBatchNoLostUpdate (D10): while batches
// run, other goroutines call UpdateAttendeeCapabilities. Attendees 0..9 are
// excluded by every batch, so each must end with the last triple its own
// updater wrote (a batch that re-wrote them from a stale read would lose it).
// Attendees 10..19 are updated and not excluded: each ends with its last
// update or with the last batch's triple, nothing else. Attendees 20..29 are
// only batched: all hold the last batch's triple.
func TestCapabilitiesConcurrentUpdateAndBatchNoLostUpdate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		c := startServer(t, e).client(t)
		mid := newMeeting(t, c, "d10-lost-update", nil)
		ids := addAttendees(t, c, mid, "lu", 30, nil)

		batchCaps := allowedDistinct(12, 0, triple{sr, sr, sr})
		updCaps := allowedDistinct(20, 12, triple{sr, sr, sr})
		const updates = 4 // per updated attendee
		lastUpdate := make(map[int]triple)

		var wg sync.WaitGroup
		start := make(chan struct{})
		var mu sync.Mutex
		var failures []string
		fail := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, fmt.Sprintf(format, args...))
		}
		for i := range 20 {
			seq := make([]triple, updates)
			for k := range updates {
				seq[k] = updCaps[(i+k*7)%len(updCaps)]
			}
			lastUpdate[i] = seq[updates-1]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for _, tr := range seq {
					out, err := c.UpdateAttendeeCapabilities(ctx, &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{
						MeetingId: aws.String(mid), AttendeeId: aws.String(ids[i]), Capabilities: tr.caps(),
					})
					if err != nil {
						fail("update of attendee %d: %v", i, err)
						return
					}
					if got := tripleOf(out.Attendee.Capabilities); got != tr {
						fail("update of attendee %d answered %v, want %v", i, got, tr)
					}
				}
			}()
		}
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for k := range 4 {
					if err := batchExcept(c, mid, ids[:10], batchCaps[g*4+k]); err != nil {
						fail("batch %d/%d: %v", g, k, err)
						return
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		for _, f := range failures {
			t.Error(f)
		}

		final := snapshot(t, c, mid)
		last := final[20].Caps
		isBatch := false
		for _, tr := range batchCaps {
			isBatch = isBatch || tr == last
		}
		if !isBatch {
			t.Errorf("attendee 20 (batched only) has %v, which no batch requested", last)
		}
		for i, a := range final {
			switch {
			case i < 10:
				if a.Caps != lastUpdate[i] {
					t.Errorf("lost update: excluded attendee %d has %v, its last update wrote %v", i, a.Caps, lastUpdate[i])
				}
			case i < 20:
				if a.Caps != lastUpdate[i] && a.Caps != last {
					t.Errorf("attendee %d has %v: neither its last update %v nor the last batch %v", i, a.Caps, lastUpdate[i], last)
				}
			default:
				if a.Caps != last {
					t.Errorf("batched-only attendee %d has %v, attendee 20 has %v", i, a.Caps, last)
				}
			}
		}
	})
}
