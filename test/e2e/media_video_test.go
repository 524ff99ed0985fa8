package e2e

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/signaling/chimeclient"
	"github.com/carillon-dev/carillon/internal/signaling/sigpb"
)

// sendVideo writes VP8-typed RTP on track every 10 ms until stop is set;
// the SFU forwards without decoding, so the payload need not be real VP8.
func sendVideo(track *webrtc.TrackLocalStaticRTP, stop *atomic.Bool) {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true}, Payload: []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a}}
	for !stop.Load() {
		p.SequenceNumber++
		p.Timestamp += 900
		_ = track.WriteRTP(p)
		time.Sleep(10 * time.Millisecond)
	}
}

// waitIndex waits for an INDEX whose sources satisfy match.
func waitIndex(t *testing.T, c *chimeclient.Client, from int, what string, match func([]*sigpb.StreamDescriptor) bool) *sigpb.IndexFrame {
	t.Helper()
	f, _, err := c.Wait(from, frameWait, func(f *sigpb.Frame) bool {
		return f.GetType() == sigpb.Frame_INDEX && match(f.GetIndex().GetSources())
	})
	if err != nil {
		t.Fatalf("waiting for an INDEX with %s: %v", what, err)
	}
	return f.GetIndex()
}

// A camera published with a DUPLEX SUBSCRIBE gets meeting-wide ids, appears
// in the other attendees' INDEX, is forwarded to a receiver on the v_<mid>
// m-line it subscribed with, and leaves every INDEX when stopped.
func TestMediaVideoForwarding(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "alice", "bob")
	ctx := context.Background()
	a := mm.connect(t, 0, 1)
	b := mm.connect(t, 1, 2)

	cam := chimeclient.NewCamera()
	var stop atomic.Bool
	defer stop.Store(true)
	ack, err := a.SubscribeWith(ctx, mm.rtc, frameWait, chimeclient.SubscribeOptions{Camera: cam})
	if err != nil {
		t.Fatal(err)
	}
	go sendVideo(cam, &stop)
	allocs := ack.GetSubscribeAck().GetAllocations()
	if len(allocs) != 1 || allocs[0].GetStreamId() == 0 || allocs[0].GetGroupId() == 0 {
		t.Fatalf("allocations = %v, want one with stream and group ids", allocs)
	}
	streamID := allocs[0].GetStreamId()

	idx := waitIndex(t, b, 0, "alice's camera", func(s []*sigpb.StreamDescriptor) bool { return len(s) == 1 })
	src := idx.GetSources()[0]
	if src.GetStreamId() != streamID || src.GetGroupId() != allocs[0].GetGroupId() || src.GetAttendeeId() != *mm.attendees[0].AttendeeId ||
		src.GetExternalUserId() != "alice" || src.GetMediaType() != sigpb.StreamMediaType_VIDEO || src.GetMaxBitrateKbps() == 0 {
		t.Fatalf("INDEX source = %v", src)
	}
	for _, f := range a.Frames() {
		if f.GetType() == sigpb.Frame_INDEX && len(f.GetIndex().GetSources()) > 0 {
			t.Fatalf("alice's INDEX lists her own camera: %v", f.GetIndex())
		}
	}

	back, err := b.SubscribeWith(ctx, mm.rtc, frameWait, chimeclient.SubscribeOptions{Receive: []uint32{streamID}})
	if err != nil {
		t.Fatal(err)
	}
	tracks := back.GetSubscribeAck().GetTracks()
	if len(tracks) != 1 || tracks[0].GetStreamId() != streamID || tracks[0].GetTrackLabel() != "v_2" || tracks[0].GetSsrc() == 0 {
		t.Fatalf("SUBSCRIBE_ACK tracks = %v, want {%d, ssrc, v_2}", tracks, streamID)
	}
	if !strings.Contains(back.GetSubscribeAck().GetSdpAnswer(), "a=msid:v_2 ") {
		t.Fatalf("the answer's mid 2 has no msid v_2:\n%s", back.GetSubscribeAck().GetSdpAnswer())
	}
	deadline := time.Now().Add(frameWait)
	for b.Received("v_2") < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("bob received %d packets of alice's camera in %v, want >= 30", b.Received("v_2"), frameWait)
		}
		time.Sleep(20 * time.Millisecond)
	}

	mark := len(b.Frames())
	if _, err := a.SubscribeWith(ctx, mm.rtc, frameWait, chimeclient.SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	waitIndex(t, b, mark, "no source once alice stopped", func(s []*sigpb.StreamDescriptor) bool { return len(s) == 0 })
	if _, err := b.SubscribeWith(ctx, mm.rtc, frameWait, chimeclient.SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	n := b.Received("v_2")
	time.Sleep(300 * time.Millisecond)
	if got := b.Received("v_2"); got > n+2 {
		t.Errorf("packets kept arriving after the camera stopped: %d -> %d", n, got)
	}
}

// A content share is a second session with the same token and "#content":
// its presence is announced as <attendee>#content (what makes the sharer's
// contentShareDidStart fire) and its video is a source of that attendee.
func TestMediaContentShare(t *testing.T) {
	srv := startServer(t, sqliteEngine())
	mm := newMediaMeeting(t, srv, "carol", "bob")
	ctx := context.Background()
	carol := mm.connect(t, 0, 1)
	b := mm.connect(t, 1, 2)
	contentID := *mm.attendees[0].AttendeeId + "#content"

	share := mm.connectToken(t, *mm.attendees[0].JoinToken+"#content", 3)
	waitPresence(t, carol, "carol's own content presence", func(e *sigpb.AudioStreamIdInfo) bool {
		return e.GetAttendeeId() == contentID && e.GetExternalUserId() == "carol"
	})
	screen := chimeclient.NewCamera()
	var stop atomic.Bool
	defer stop.Store(true)
	if _, err := share.SubscribeWith(ctx, mm.rtc, frameWait, chimeclient.SubscribeOptions{Camera: screen}); err != nil {
		t.Fatal(err)
	}
	go sendVideo(screen, &stop)
	idx := waitIndex(t, b, 0, "carol's content", func(s []*sigpb.StreamDescriptor) bool { return len(s) == 1 })
	if got := idx.GetSources()[0].GetAttendeeId(); got != contentID {
		t.Fatalf("content source attendee = %q, want %q", got, contentID)
	}
	if err := share.Leave(ctx, frameWait); err != nil {
		t.Fatal(err)
	}
	waitIndex(t, b, 0, "no source after the share ended", func(s []*sigpb.StreamDescriptor) bool { return len(s) == 0 })
}
