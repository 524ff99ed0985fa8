package media

import (
	"fmt"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// BenchmarkApplyCapabilities: the media plane's cost of one capability
// change (a batch over every connected attendee) as the meeting grows. It
// is O(connected sessions): the routing table is rebuilt once and swapped;
// nothing is read per packet beyond one pointer and one map lookup.
func BenchmarkApplyCapabilities(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			h, _, _ := newTestHub(&testing.T{}, 0)
			var ids []string
			for i := range n {
				id := fmt.Sprintf("a%04d", i)
				ids = append(ids, id)
				if _, err := h.Join(grant("m1", id, time.Time{}), &fakeClient{}); err != nil {
					b.Fatal(err)
				}
			}
			r := h.room("m1", false)
			triples := []meetings.Capabilities{
				{Audio: meetings.Receive, Video: meetings.SendReceive, Content: meetings.SendReceive},
				{Audio: meetings.SendReceive, Video: meetings.SendReceive, Content: meetings.SendReceive},
			}
			b.ResetTimer()
			for i := range b.N {
				update := make(map[string]meetings.Capabilities, n)
				for _, id := range ids {
					update[id] = triples[i%2]
				}
				r.applyCapabilities(update)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/session")
		})
	}
}
