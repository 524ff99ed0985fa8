package browser

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// Video and audio through Carillon's media plane, as the unmodified SDK sees
// them (issue 11).

// spectrum is what the page's fft() returns: levels in dBFS averaged over
// the listening window.
type spectrum struct {
	Error  string  `json:"error"`
	BinHz  float64 `json:"binHz"`
	Frames int     `json:"frames"`
	Peaks  []struct {
		Hz float64 `json:"hz"`
		DB float64 `json:"db"`
	} `json:"peaks"`
	Levels   map[string]float64 `json:"levels"` // the strongest bin within ±2 bins of each asked frequency
	MedianDB float64            `json:"medianDb"`
}

func (s spectrum) level(hz int) float64 { return s.Levels[fmt.Sprint(hz)] }

func (s spectrum) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "levels %v, median %.1f dB, peaks", s.Levels, s.MedianDB)
	for _, p := range s.Peaks {
		fmt.Fprintf(&b, " %.1fHz@%.1fdB", p.Hz, p.DB)
	}
	return b.String()
}

// fft listens to p's meeting audio for one second.
func (p *page) fft(freqs ...int) spectrum {
	p.t.Helper()
	var s spectrum
	p.mustEval(fmt.Sprintf("window.carillon.fft({durationMs: 1000, freqs: %s})", jsonInts(freqs)), &s)
	return s
}

// hearsUntil listens again and again until ok accepts the spectrum, and
// fails the test with the last one after timeout.
func (p *page) hearsUntil(timeout time.Duration, what string, freqs []int, ok func(spectrum) bool) spectrum {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := p.fft(freqs...)
		if s.Error == "" && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: %s not heard within %v; last spectrum: %s %s", p.name, what, timeout, s.Error, s)
		}
	}
}

// Audible and silent, in dBFS, as the page's analyser measures the meeting
// audio: a tone through the mix arrives between -35 and -50 dB, an absent
// one below -75, and the mixer's by-products near a loud tone around -66.
const (
	audibleDB = -60
	// a frequency counts as absent when it is this much below the loudest
	// asked one
	mixMinusMarginDB = 20
)

type videoStats struct {
	Inbound []struct {
		Kind            string  `json:"kind"`
		Mid             string  `json:"mid"`
		PacketsReceived int     `json:"packetsReceived"`
		FramesDecoded   int     `json:"framesDecoded"`
		AudioLevel      float64 `json:"audioLevel"`
	} `json:"inbound"`
	Tiles []struct {
		TileID          int    `json:"tileId"`
		LocalTile       bool   `json:"localTile"`
		IsContent       bool   `json:"isContent"`
		BoundAttendeeID string `json:"boundAttendeeId"`
		FramesDecoded   int    `json:"framesDecoded"`
		VideoWidth      int    `json:"videoWidth"`
		VideoHeight     int    `json:"videoHeight"`
	} `json:"tiles"`
}

func (p *page) stats() videoStats {
	p.t.Helper()
	var s videoStats
	p.mustEval("window.carillon.stats()", &s)
	return s
}

// framesDecoded waits until the remote tile of attendeeID has decoded at
// least n frames, and fails the test after timeout.
func (p *page) framesDecoded(attendeeID string, n int, timeout time.Duration) int {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	last := 0
	for {
		for _, tile := range p.stats().Tiles {
			if !tile.LocalTile && tile.BoundAttendeeID == attendeeID {
				last = tile.FramesDecoded
			}
		}
		if last >= n {
			return last
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: the tile of %s decoded %d frames in %v, want ≥ %d", p.name, attendeeID, last, timeout, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func isRemoteTileOf(attendeeID string) func(event) bool {
	return func(e event) bool {
		return e.Type == "videoTileDidUpdate" && !e.LocalTile && e.BoundAttendeeID == attendeeID
	}
}

// TestCameraTile: Alice's camera becomes a tile at Bob's, bound to her
// attendee and ExternalUserId, decoding ≥ 30 frames within 6 s; when she
// stops it, Bob's tile goes within 2 s.
func TestCameraTile(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	pa, pb := two(h.newPages(t, "alice", "bob"))
	pa.join(alice, joinOptions{Camera: true})
	pb.join(bob, joinOptions{})
	pa.joined()
	pb.joined()
	pa.waitFor(5*time.Second, "alice's local video", isType("localVideoStarted"))

	tile := pb.waitFor(6*time.Second, "a tile bound to alice", isRemoteTileOf(alice.attendeeID()))
	shown := time.Now()
	if tile.BoundExternalUserID != "ext-alice" || tile.IsContent || tile.StreamID == 0 || tile.GroupID == 0 {
		t.Errorf("bob's tile for alice: %s; want boundExternalUserId ext-alice, not content, non-zero streamId and groupId", tile)
	}
	frames := pb.framesDecoded(alice.attendeeID(), 30, 6*time.Second)
	t.Logf("bob's tile for alice decoded %d frames %v after it appeared", frames, time.Since(shown).Round(time.Millisecond))

	pa.mustEval("window.carillon.stopLocalVideo()", nil)
	stopped := time.Now()
	pb.waitFor(2*time.Second, "alice's tile removed", func(e event) bool {
		return e.Type == "videoTileWasRemoved" && e.TileID == tile.TileID
	})
	t.Logf("bob's tile for alice removed %v after stopLocalVideo", time.Since(stopped).Round(time.Millisecond))
}

// TestToneHeard: Alice sends a 440 Hz tone; Bob's meeting audio peaks at
// 440 Hz, within two FFT bins, and his volume indicator for Alice is high.
func TestToneHeard(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	pa, pb := two(h.newPages(t, "alice", "bob"))
	pa.join(alice, joinOptions{Hz: 440})
	pb.join(bob, joinOptions{})
	pa.joined()
	pb.joined()

	heard := pb.hearsUntil(5*time.Second, "alice's 440 Hz", []int{440}, func(s spectrum) bool {
		return len(s.Peaks) > 0 && math.Abs(s.Peaks[0].Hz-440) <= 2*s.BinHz && s.level(440) > audibleDB
	})
	t.Logf("bob hears: %s", heard)

	loud := pb.waitFor(3*time.Second, "a volume above 0.5 for alice", func(e event) bool {
		return e.Type == "volume" && e.AttendeeID == alice.attendeeID() && e.Volume > 0.5
	})
	t.Logf("bob's volume indicator for alice: %.2f (signal strength %.2f)", loud.Volume, loud.SignalStrength)
}

// TestMixMinus: with Alice at 440 Hz and Carol at 660 Hz, Bob hears both,
// and each sender hears the other but not herself.
func TestMixMinus(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	alice := s.createAttendee(t, m, "ext-alice")
	bob := s.createAttendee(t, m, "ext-bob")
	carol := s.createAttendee(t, m, "ext-carol")
	ps := h.newPages(t, "alice", "bob", "carol")
	pa, pb, pc := ps[0], ps[1], ps[2]
	pa.join(alice, joinOptions{Hz: 440})
	pb.join(bob, joinOptions{})
	pc.join(carol, joinOptions{Hz: 660})
	for _, p := range ps {
		p.joined()
	}
	freqs := []int{440, 660}
	both := pb.hearsUntil(6*time.Second, "440 Hz and 660 Hz", freqs, func(s spectrum) bool {
		return s.level(440) > audibleDB && s.level(660) > audibleDB
	})
	t.Logf("bob hears: %s", both)
	onlyOther := func(p *page, other, own int) {
		heard := p.hearsUntil(4*time.Second, fmt.Sprintf("%d Hz without %d Hz", other, own), freqs, func(s spectrum) bool {
			return s.level(other) > audibleDB && s.level(own) < s.level(other)-mixMinusMarginDB
		})
		t.Logf("%s hears: %s", p.name, heard)
	}
	onlyOther(pa, 660, 440)
	onlyOther(pc, 440, 660)
}

// TestContentShare: Carol shares a canvas; her main session reports
// contentShareDidStart, and Bob gets a content tile bound to carol#content.
func TestContentShare(t *testing.T) {
	h := needBrowser(t)
	s := startServer(t)
	m := s.createMeeting(t)
	bob := s.createAttendee(t, m, "ext-bob")
	carol := s.createAttendee(t, m, "ext-carol")
	pb, pc := two(h.newPages(t, "bob", "carol"))
	pb.join(bob, joinOptions{})
	pc.join(carol, joinOptions{})
	pb.joined()
	pc.joined()

	pc.mustEval("window.carillon.startContentShare()", nil)
	pc.waitFor(6*time.Second, "contentShareDidStart", isType("contentShareDidStart"))
	content := carol.attendeeID() + "#content"
	tile := pb.waitFor(6*time.Second, "a tile bound to "+content, isRemoteTileOf(content))
	if !tile.IsContent || tile.BoundExternalUserID != "ext-carol" {
		t.Errorf("bob's content tile: %s; want isContent, boundExternalUserId ext-carol", tile)
	}
	frames := pb.framesDecoded(content, 10, 6*time.Second)
	t.Logf("bob's content tile decoded %d frames", frames)

	pc.mustEval("window.carillon.stopContentShare()", nil)
	pc.waitFor(3*time.Second, "contentShareDidStop", isType("contentShareDidStop"))
	pb.waitFor(3*time.Second, "the content tile removed", func(e event) bool {
		return e.Type == "videoTileWasRemoved" && e.TileID == tile.TileID
	})
}

func jsonInts(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
