package e2e

// StartMeetingTranscription / StopMeetingTranscription per D22, and unknown
// routes per D4.

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings/types"
)

// TestOpsTranscriptionD22: Start and Stop answer 200 (empty body, D6), both
// are idempotent; unknown meeting 404; a configuration without engine
// settings, or breaking the documented rules (X3, X4, X14), is 400.
func TestOpsTranscriptionD22(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		s := startServer(t, e)
		c := s.client(t)
		mid := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{}).MeetingId)
		cfg := &types.TranscriptionConfiguration{EngineTranscribeSettings: &types.EngineTranscribeSettings{LanguageCode: "en-US"}}
		for i := 0; i < 2; i++ {
			if _, err := c.StartMeetingTranscription(ctx, &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: &mid, TranscriptionConfiguration: cfg}); err != nil {
				t.Errorf("Start #%d: %v", i+1, err)
			}
		}
		for i := 0; i < 2; i++ {
			r := s.do(t, http.MethodPost, "/meetings/"+mid+"/transcription?operation=stop", nil)
			if r.Status != http.StatusOK {
				t.Errorf("Stop #%d: %d %s, want 200", i+1, r.Status, r.Body)
			}
		}
		r := s.do(t, http.MethodPost, "/meetings/"+mid+"/transcription?operation=start", opsJSON(t, map[string]any{
			"TranscriptionConfiguration": map[string]any{"EngineTranscribeMedicalSettings": map[string]string{"LanguageCode": "en-US", "Specialty": "PRIMARYCARE", "Type": "CONVERSATION"}},
		}))
		if r.Status != http.StatusOK {
			t.Errorf("Start (medical): %d %s", r.Status, r.Body)
		}

		unknown := "11111111-2222-4333-8444-555555555555"
		_, err := c.StartMeetingTranscription(ctx, &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: aws.String(unknown), TranscriptionConfiguration: cfg})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException", unknown)
		_, err = c.StopMeetingTranscription(ctx, &chimesdkmeetings.StopMeetingTranscriptionInput{MeetingId: aws.String(unknown)})
		opsWantErr[*types.NotFoundException](t, err, 404, "NotFoundException", unknown)

		bad := map[string]*types.TranscriptionConfiguration{
			"no engine settings (X1)":                   {},
			"no LanguageCode nor IdentifyLanguage (X3)": {EngineTranscribeSettings: &types.EngineTranscribeSettings{Region: "us-east-1"}},
			"identification and redaction (X4)": {EngineTranscribeSettings: &types.EngineTranscribeSettings{LanguageCode: "en-US",
				ContentIdentificationType: "PII", ContentRedactionType: "PII"}},
			"PiiEntityTypes without identification or redaction (X5)": {EngineTranscribeSettings: &types.EngineTranscribeSettings{LanguageCode: "en-US", PiiEntityTypes: aws.String("NAME")}},
			"LanguageOptions without IdentifyLanguage (X7)":           {EngineTranscribeSettings: &types.EngineTranscribeSettings{LanguageCode: "en-US", LanguageOptions: aws.String("en-US,es-US")}},
		}
		for name, cfg := range bad {
			t.Run(name, func(t *testing.T) {
				_, err := c.StartMeetingTranscription(ctx, &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: &mid, TranscriptionConfiguration: cfg})
				opsWantErr[*types.BadRequestException](t, err, 400, "BadRequestException")
			})
		}
		// Medical settings missing a required member (X14): 400 on the wire.
		r = s.do(t, http.MethodPost, "/meetings/"+mid+"/transcription?operation=start", opsJSON(t, map[string]any{
			"TranscriptionConfiguration": map[string]any{"EngineTranscribeMedicalSettings": map[string]string{"LanguageCode": "en-US", "Type": "CONVERSATION"}},
		}))
		wantRawError(t, r, 400, "BadRequestException", "Specialty")
	})
}

// TestOpsUnknownOperationD4: unknown paths, methods and operation= values
// are 404 UnknownOperationException in the D1 JSON form, and change nothing.
func TestOpsUnknownOperationD4(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, e engine) {
		s := startServer(t, e)
		c := s.client(t)
		mid := aws.ToString(opsMeeting(t, c, chimesdkmeetings.CreateMeetingInput{}).MeetingId)
		body := opsJSON(t, map[string]any{"ClientRequestToken": "tok-d4", "MediaRegion": "us-east-1", "ExternalMeetingId": "d4", "ExternalUserId": "d4-user",
			"Attendees": []map[string]string{{"ExternalUserId": "d4-user"}}})
		cases := []struct{ method, path string }{
			{http.MethodGet, "/nope"},
			{http.MethodGet, "/"},
			{http.MethodPost, "/meetings?operation=bogus"},
			{http.MethodPost, "/meetings?operation="},
			{http.MethodPost, "/meetings/" + mid + "/attendees?operation=batch-delete"},
			{http.MethodPost, "/meetings/" + mid + "/transcription"},
			{http.MethodPost, "/meetings/" + mid + "/transcription?operation=pause"},
			{http.MethodPatch, "/meetings/" + mid},
			{http.MethodPut, "/meetings/" + mid},
			{http.MethodGet, "/meetings"},
			{http.MethodPost, "/tags"},
			{http.MethodGet, "/meetings/" + mid + "/attendees/x/y/z"},
		}
		for _, tc := range cases {
			r := s.do(t, tc.method, tc.path, body)
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				wantRawError(t, r, 404, "UnknownOperationException")
			})
		}
		if n := len(snapshot(t, c, mid)); n != 0 {
			t.Errorf("unknown operations created %d attendees", n)
		}
	})
}
