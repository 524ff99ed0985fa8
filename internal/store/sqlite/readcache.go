package sqlite

import (
	"sync"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// readCache keeps the answers of ReadAttendee (GetAttendee, the hottest read
// of the API) so that a repeated read costs a map lookup instead of a SQLite
// statement (about 50 µs of CPU with this driver; see docs/benchmarks.md).
//
// It is correct only while this process is the database's only writer,
// which Open makes sure of with a lock on the data directory; without that
// lock the cache is off.
//
// The writer brackets every COMMIT that writes rows of a meeting
// (tx.touch): beginWrite before it drops the meeting and refuses stores
// for it while the commit is pending, endWrite after it and before any
// caller of the Update is answered. So an acknowledged write is never
// followed by a stale read, and no cached meeting mixes rows read before a
// commit with rows read after it. A reader that began before a commit may
// have read the old rows: it takes a sequence number before its SELECT and
// may store its answer only if no write of that meeting ended since.
type readCache struct {
	mu       sync.RWMutex
	seq      uint64            // bumped by every endWrite
	floor    uint64            // readers that started before floor may not store
	touched  map[string]uint64 // meeting -> seq of its last endWrite since floor
	pending  map[string]int    // meeting -> commits between beginWrite and endWrite
	meetings map[string]*cachedMeeting
	size     int // attendees held, at most max
	max      int
}

type cachedMeeting struct {
	m         meetings.MeetingRecord
	attendees map[string]meetings.AttendeeRecord
}

// readCacheAttendees bounds the cache. Random GetAttendees over 100,000
// attendees took the server's RSS from 27 MB to 115 MB with a bound of
// 65,536, and to 62 MB with 16,384 (64 full meetings), SQLite's page
// caches and GC headroom included. Past the bound, whole meetings are
// evicted in map order (random).
const readCacheAttendees = 16384

// readCacheTouched bounds the invalidation log; past it the log is cleared
// and the floor raised, which only refuses stores of reads that were in
// flight at that moment.
const readCacheTouched = 4096

func newReadCache(max int) *readCache {
	return &readCache{touched: map[string]uint64{}, pending: map[string]int{}, meetings: map[string]*cachedMeeting{}, max: max}
}

// get returns the cached meeting and attendee, if both are there.
func (c *readCache) get(meetingID, attendeeID string) (meetings.MeetingRecord, meetings.AttendeeRecord, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if cm := c.meetings[meetingID]; cm != nil {
		if a, ok := cm.attendees[attendeeID]; ok {
			return cm.m, a, true
		}
	}
	return meetings.MeetingRecord{}, meetings.AttendeeRecord{}, false
}

// begin is called before a reader's SELECT; put takes its result.
func (c *readCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// put stores what a reader read after begin returned seq, unless a write
// of the meeting is pending or ended since.
func (c *readCache) put(seq uint64, m meetings.MeetingRecord, a meetings.AttendeeRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq < c.floor || c.touched[m.ID] > seq || c.pending[m.ID] > 0 {
		return
	}
	cm := c.meetings[m.ID]
	if cm == nil {
		for id, other := range c.meetings {
			if c.size < c.max {
				break
			}
			c.size -= len(other.attendees)
			delete(c.meetings, id)
		}
		cm = &cachedMeeting{m: m, attendees: map[string]meetings.AttendeeRecord{}}
		c.meetings[m.ID] = cm
	} else if c.size >= c.max {
		return
	}
	if _, ok := cm.attendees[a.ID]; !ok {
		c.size++
	}
	cm.attendees[a.ID] = a
}

// beginWrite is called before the COMMIT of a transaction that wrote rows
// of these meetings: it drops them, and put refuses them until endWrite.
func (c *readCache) beginWrite(meetingIDs map[string]struct{}) {
	if len(meetingIDs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range meetingIDs {
		c.pending[id]++
		if cm := c.meetings[id]; cm != nil {
			c.size -= len(cm.attendees)
			delete(c.meetings, id)
		}
	}
}

// endWrite is called once that COMMIT has returned (committed or not).
func (c *readCache) endWrite(meetingIDs map[string]struct{}) {
	if len(meetingIDs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	if len(c.touched)+len(meetingIDs) > readCacheTouched {
		clear(c.touched)
		c.floor = c.seq
	}
	for id := range meetingIDs {
		c.touched[id] = c.seq
		if c.pending[id]--; c.pending[id] <= 0 {
			delete(c.pending, id)
		}
	}
}
