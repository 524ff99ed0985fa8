package api

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/meetings"
)

// routes lists every operation of chime-sdk-meetings 2021-07-15 and its
// handler. Method, path and status come from the model (internal/apimodel).
func (s *Server) routes() map[string]handler {
	return map[string]handler{
		"CreateMeeting":                         s.createMeeting,
		"CreateMeetingWithAttendees":            s.createMeetingWithAttendees,
		"GetMeeting":                            s.getMeeting,
		"DeleteMeeting":                         s.deleteMeeting,
		"CreateAttendee":                        s.createAttendee,
		"BatchCreateAttendee":                   s.batchCreateAttendee,
		"GetAttendee":                           s.getAttendee,
		"ListAttendees":                         s.listAttendees,
		"DeleteAttendee":                        s.deleteAttendee,
		"UpdateAttendeeCapabilities":            s.updateAttendeeCapabilities,
		"BatchUpdateAttendeeCapabilitiesExcept": s.batchUpdateAttendeeCapabilitiesExcept,
		"StartMeetingTranscription":             s.startMeetingTranscription,
		"StopMeetingTranscription":              s.stopMeetingTranscription,
		"TagResource":                           s.tagResource,
		"UntagResource":                         s.untagResource,
		"ListTagsForResource":                   s.listTagsForResource,
	}
}

// decode unmarshals a body that validation has already accepted. An empty
// body (the JS SDK may send none for an op whose members are all optional)
// decodes as {}.
func decode(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apierr.New(apierr.BadRequest, "The request body is not valid JSON for this operation")
	}
	return nil
}

type meetingOutput struct {
	Meeting *meetings.Meeting `json:"Meeting"`
}

type attendeeOutput struct {
	Attendee *meetings.Attendee `json:"Attendee"`
}

func (s *Server) createMeeting(ctx context.Context, req *request) (any, error) {
	var in meetings.CreateMeetingInput
	if err := decode(req.body, &in); err != nil {
		return nil, err
	}
	m, err := s.svc.CreateMeeting(ctx, in)
	if err != nil {
		return nil, err
	}
	return meetingOutput{m}, nil
}

func (s *Server) createMeetingWithAttendees(ctx context.Context, req *request) (any, error) {
	var in meetings.CreateMeetingWithAttendeesInput
	if err := decode(req.body, &in); err != nil {
		return nil, err
	}
	return s.svc.CreateMeetingWithAttendees(ctx, in)
}

func (s *Server) getMeeting(ctx context.Context, req *request) (any, error) {
	m, err := s.svc.GetMeeting(ctx, req.labels["MeetingId"])
	if err != nil {
		return nil, err
	}
	return meetingOutput{m}, nil
}

func (s *Server) deleteMeeting(ctx context.Context, req *request) (any, error) {
	return nil, s.svc.DeleteMeeting(ctx, req.labels["MeetingId"])
}

func (s *Server) createAttendee(ctx context.Context, req *request) (any, error) {
	var in meetings.CreateAttendeeInput
	if err := decode(req.body, &in); err != nil {
		return nil, err
	}
	a, err := s.svc.CreateAttendee(ctx, req.labels["MeetingId"], in)
	if err != nil {
		return nil, err
	}
	return attendeeOutput{a}, nil
}

func (s *Server) batchCreateAttendee(ctx context.Context, req *request) (any, error) {
	var in struct {
		Attendees []meetings.CreateAttendeeInput `json:"Attendees"`
	}
	if err := decode(req.body, &in); err != nil {
		return nil, err
	}
	return s.svc.BatchCreateAttendee(ctx, req.labels["MeetingId"], in.Attendees)
}

func (s *Server) getAttendee(ctx context.Context, req *request) (any, error) {
	a, err := s.svc.GetAttendee(ctx, req.labels["MeetingId"], req.labels["AttendeeId"])
	if err != nil {
		return nil, err
	}
	return attendeeOutput{a}, nil
}

func (s *Server) listAttendees(ctx context.Context, req *request) (any, error) {
	maxResults := 0
	if v := req.query.Get("max-results"); v != "" {
		n, err := strconv.Atoi(v) // validation has checked the range
		if err != nil {
			return nil, apierr.New(apierr.BadRequest, "MaxResults must be an integer")
		}
		maxResults = n
	}
	attendees, next, err := s.svc.ListAttendees(ctx, req.labels["MeetingId"], req.query.Get("next-token"), maxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		Attendees []meetings.Attendee `json:"Attendees"`
		NextToken string              `json:"NextToken,omitempty"`
	}{attendees, next}, nil
}

func (s *Server) deleteAttendee(ctx context.Context, req *request) (any, error) {
	return nil, s.svc.DeleteAttendee(ctx, req.labels["MeetingId"], req.labels["AttendeeId"])
}

func (s *Server) updateAttendeeCapabilities(ctx context.Context, req *request) (any, error) {
	var in struct {
		Capabilities meetings.Capabilities `json:"Capabilities"`
	}
	if err := decode(req.body, &in); err != nil {
		return nil, err
	}
	a, err := s.svc.UpdateAttendeeCapabilities(ctx, req.labels["MeetingId"], req.labels["AttendeeId"], in.Capabilities)
	if err != nil {
		return nil, err
	}
	return attendeeOutput{a}, nil
}

func (s *Server) batchUpdateAttendeeCapabilitiesExcept(ctx context.Context, req *request) (any, error) {
	var in struct {
		ExcludedAttendeeIds []struct {
			AttendeeId string `json:"AttendeeId"`
		} `json:"ExcludedAttendeeIds"`
		Capabilities meetings.Capabilities `json:"Capabilities"`
	}
	if err := decode(req.body, &in); err != nil {
		return nil, err
	}
	excluded := make([]string, len(in.ExcludedAttendeeIds))
	for i, e := range in.ExcludedAttendeeIds {
		excluded[i] = e.AttendeeId
	}
	return nil, s.svc.BatchUpdateAttendeeCapabilitiesExcept(ctx, req.labels["MeetingId"], excluded, in.Capabilities)
}

func (s *Server) startMeetingTranscription(ctx context.Context, req *request) (any, error) {
	var in struct {
		TranscriptionConfiguration meetings.TranscriptionConfiguration `json:"TranscriptionConfiguration"`
	}
	if err := decode(req.body, &in); err != nil {
		return nil, err
	}
	return nil, s.svc.StartMeetingTranscription(ctx, req.labels["MeetingId"], in.TranscriptionConfiguration)
}

func (s *Server) stopMeetingTranscription(ctx context.Context, req *request) (any, error) {
	return nil, s.svc.StopMeetingTranscription(ctx, req.labels["MeetingId"])
}

func (s *Server) tagResource(ctx context.Context, req *request) (any, error) {
	var in struct {
		ResourceARN string         `json:"ResourceARN"`
		Tags        []meetings.Tag `json:"Tags"`
	}
	if err := decode(req.body, &in); err != nil {
		return nil, err
	}
	return nil, s.svc.TagResource(ctx, in.ResourceARN, in.Tags)
}

func (s *Server) untagResource(ctx context.Context, req *request) (any, error) {
	var in struct {
		ResourceARN string   `json:"ResourceARN"`
		TagKeys     []string `json:"TagKeys"`
	}
	if err := decode(req.body, &in); err != nil {
		return nil, err
	}
	return nil, s.svc.UntagResource(ctx, in.ResourceARN, in.TagKeys)
}

func (s *Server) listTagsForResource(ctx context.Context, req *request) (any, error) {
	tags, err := s.svc.ListTagsForResource(ctx, req.query.Get("arn"))
	if err != nil {
		return nil, err
	}
	return struct {
		Tags []meetings.Tag `json:"Tags"`
	}{tags}, nil
}
