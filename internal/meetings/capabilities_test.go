package meetings

import (
	"fmt"
	"testing"

	"github.com/carillon-dev/carillon/internal/apierr"
)

var allValues = []string{SendReceive, Send, Receive, None}

// TestCheckCapabilitiesMatrix checks all 64 triples against every
// combination of video/content MaxResolution (D9): the content/video rule
// (C4) and the None channels (C2, C3).
func TestCheckCapabilitiesMatrix(t *testing.T) {
	videoRes := []string{"", ResolutionNone, ResolutionHD, ResolutionFHD}
	contentRes := []string{"", ResolutionNone, ResolutionFHD, ResolutionUHD}
	for _, vr := range videoRes {
		for _, cr := range contentRes {
			f := &Features{}
			if vr != "" {
				f.Video = &VideoFeatures{MaxResolution: vr}
			}
			if cr != "" {
				f.Content = &ContentFeatures{MaxResolution: cr}
			}
			for _, a := range allValues {
				for _, v := range allValues {
					for _, c := range allValues {
						caps := Capabilities{Audio: a, Video: v, Content: c}
						wantOK := true
						if (c == SendReceive || c == Receive) && v != SendReceive && v != Receive {
							wantOK = false // C4
						}
						if vr == ResolutionNone && v != None {
							wantOK = false // C2
						}
						if cr == ResolutionNone && c != None {
							wantOK = false // C3
						}
						err := CheckCapabilities(f, caps, "Capabilities")
						name := fmt.Sprintf("video=%q content=%q caps=%v", vr, cr, caps)
						if wantOK && err != nil {
							t.Errorf("%s: unexpected error %v", name, err)
						}
						if !wantOK && !apierr.Is(err, apierr.BadRequest) {
							t.Errorf("%s: want BadRequest, got %v", name, err)
						}
					}
				}
			}
		}
	}
}

// TestDefaultCapabilities pins D11, including the documented Video-None
// special case (C6).
func TestDefaultCapabilities(t *testing.T) {
	tests := []struct {
		video, content string
		want           Capabilities
	}{
		{"", "", Capabilities{SendReceive, SendReceive, SendReceive}},
		{ResolutionFHD, ResolutionUHD, Capabilities{SendReceive, SendReceive, SendReceive}},
		{ResolutionNone, "", Capabilities{SendReceive, Receive, SendReceive}},
		{ResolutionNone, ResolutionFHD, Capabilities{SendReceive, Receive, SendReceive}},
		{ResolutionNone, ResolutionNone, Capabilities{SendReceive, None, None}},
		{ResolutionHD, ResolutionNone, Capabilities{SendReceive, SendReceive, None}},
	}
	for _, tt := range tests {
		f := &Features{}
		if tt.video != "" {
			f.Video = &VideoFeatures{MaxResolution: tt.video}
		}
		if tt.content != "" {
			f.Content = &ContentFeatures{MaxResolution: tt.content}
		}
		if got := DefaultCapabilities(f); got != tt.want {
			t.Errorf("video=%q content=%q: got %v, want %v", tt.video, tt.content, got, tt.want)
		}
	}
}

// TestEffectiveCapabilities pins the versioned capability model.
func TestEffectiveCapabilities(t *testing.T) {
	own := Capabilities{Receive, Receive, None}
	batch := Capabilities{None, None, None}
	pin := Capabilities{Send, Send, None}
	a := &AttendeeRecord{ID: "a", Caps: own, CapsVersion: 3}
	pinA := map[string]Capabilities{"a": pin}
	pinOther := map[string]Capabilities{"b": pin}
	tests := []struct {
		name string
		m    MeetingRecord
		want Capabilities
	}{
		{"no batch yet", MeetingRecord{}, own},
		{"older batch", MeetingRecord{Batch: &batch, BatchVersion: 2}, own},
		{"same version: attendee pinned row by row (before BatchPins)", MeetingRecord{Batch: &batch, BatchVersion: 3}, own},
		{"newer batch", MeetingRecord{Batch: &batch, BatchVersion: 4}, batch},
		{"newer batch that excluded it", MeetingRecord{Batch: &batch, BatchVersion: 4, BatchPins: pinA}, pin},
		{"newer batch that excluded another", MeetingRecord{Batch: &batch, BatchVersion: 4, BatchPins: pinOther}, batch},
		{"older batch that excluded it: its own later triple wins", MeetingRecord{Batch: &batch, BatchVersion: 2, BatchPins: pinA}, own},
	}
	for _, tt := range tests {
		if got := EffectiveCapabilities(&tt.m, a); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
