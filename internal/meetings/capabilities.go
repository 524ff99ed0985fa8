package meetings

import "github.com/carillon-dev/carillon/internal/apierr"

// Resolution values of MeetingFeatures (VideoResolution, ContentResolution).
const (
	ResolutionNone = "None"
	ResolutionHD   = "HD"
	ResolutionFHD  = "FHD"
	ResolutionUHD  = "UHD"
)

// receives reports whether a capability value includes receiving.
func receives(c string) bool { return c == SendReceive || c == Receive }

// videoResolution is the meeting's effective video MaxResolution (F1: HD by default).
func (f *Features) videoResolution() string {
	if f != nil && f.Video != nil && f.Video.MaxResolution != "" {
		return f.Video.MaxResolution
	}
	return ResolutionHD
}

// contentResolution is the meeting's effective content MaxResolution (F1: FHD by default).
func (f *Features) contentResolution() string {
	if f != nil && f.Content != nil && f.Content.MaxResolution != "" {
		return f.Content.MaxResolution
	}
	return ResolutionFHD
}

// CheckCapabilities applies the capability rules of the model's
// AttendeeCapabilities documentation (D9) to a triple requested for a meeting
// with features f. member names the request member for the error message.
func CheckCapabilities(f *Features, c Capabilities, member string) error {
	// C4: content may only receive when video receives.
	if receives(c.Content) && !receives(c.Video) {
		return apierr.New(apierr.BadRequest,
			"%s.Content cannot be %s unless %s.Video is SendReceive or Receive", member, c.Content, member)
	}
	// C2/C3: a channel whose MaxResolution is None accepts only None.
	if f.videoResolution() == ResolutionNone && c.Video != None {
		return apierr.New(apierr.BadRequest,
			"%s.Video must be None because the meeting's MeetingFeatures.Video.MaxResolution is None", member)
	}
	if f.contentResolution() == ResolutionNone && c.Content != None {
		return apierr.New(apierr.BadRequest,
			"%s.Content must be None because the meeting's MeetingFeatures.Content.MaxResolution is None", member)
	}
	return nil
}

// DefaultCapabilities is the triple an attendee gets when its creation request
// has no Capabilities (D11).
//
// The model's documentation says: SendReceive on every channel by default;
// but when Video.MaxResolution is None and Content.MaxResolution is not, video
// defaults to Receive and content to SendReceive. We follow that literally,
// although it contradicts the rule that a None video channel accepts only
// None: the default is applied, not requested, so CheckCapabilities does not
// run on it. A channel whose MaxResolution is None otherwise defaults to None.
func DefaultCapabilities(f *Features) Capabilities {
	c := Capabilities{Audio: SendReceive, Video: SendReceive, Content: SendReceive}
	video, content := f.videoResolution(), f.contentResolution()
	switch {
	case video == ResolutionNone && content != ResolutionNone:
		c.Video, c.Content = Receive, SendReceive
	case video == ResolutionNone:
		c.Video, c.Content = None, None
	case content == ResolutionNone:
		c.Content = None
	}
	return c
}
