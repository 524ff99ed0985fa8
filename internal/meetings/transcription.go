package meetings

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/carillon-dev/carillon/internal/apierr"
)

// TranscriptionConfiguration is StartMeetingTranscription's configuration.
type TranscriptionConfiguration struct {
	EngineTranscribeSettings        *EngineTranscribeSettings        `json:"EngineTranscribeSettings,omitempty"`
	EngineTranscribeMedicalSettings *EngineTranscribeMedicalSettings `json:"EngineTranscribeMedicalSettings,omitempty"`
}

type EngineTranscribeSettings struct {
	LanguageCode                      string `json:"LanguageCode,omitempty"`
	VocabularyFilterMethod            string `json:"VocabularyFilterMethod,omitempty"`
	VocabularyFilterName              string `json:"VocabularyFilterName,omitempty"`
	VocabularyName                    string `json:"VocabularyName,omitempty"`
	Region                            string `json:"Region,omitempty"`
	EnablePartialResultsStabilization *bool  `json:"EnablePartialResultsStabilization,omitempty"`
	PartialResultsStability           string `json:"PartialResultsStability,omitempty"`
	ContentIdentificationType         string `json:"ContentIdentificationType,omitempty"`
	ContentRedactionType              string `json:"ContentRedactionType,omitempty"`
	PiiEntityTypes                    string `json:"PiiEntityTypes,omitempty"`
	LanguageModelName                 string `json:"LanguageModelName,omitempty"`
	IdentifyLanguage                  *bool  `json:"IdentifyLanguage,omitempty"`
	LanguageOptions                   string `json:"LanguageOptions,omitempty"`
	PreferredLanguage                 string `json:"PreferredLanguage,omitempty"`
	VocabularyNames                   string `json:"VocabularyNames,omitempty"`
	VocabularyFilterNames             string `json:"VocabularyFilterNames,omitempty"`
}

type EngineTranscribeMedicalSettings struct {
	LanguageCode              string `json:"LanguageCode"`
	Specialty                 string `json:"Specialty"`
	Type                      string `json:"Type"`
	VocabularyName            string `json:"VocabularyName,omitempty"`
	Region                    string `json:"Region,omitempty"`
	ContentIdentificationType string `json:"ContentIdentificationType,omitempty"`
}

var piiEntityTypes = map[string]bool{
	"ADDRESS": true, "BANK_ACCOUNT_NUMBER": true, "BANK_ROUTING": true, "CREDIT_DEBIT_CVV": true,
	"CREDIT_DEBIT_EXPIRY": true, "CREDIT_DEBIT_NUMBER": true, "EMAIL": true, "NAME": true,
	"PHONE": true, "PIN": true, "SSN": true, "ALL": true,
}

func bad(msg string) error { return &apierr.Error{Kind: apierr.BadRequest, Message: msg} }

// CheckTranscription applies the synchronous rules that the model's
// EngineTranscribeSettings documentation states (docs/wire.md,
// "Rules stated only in prose"; D22). Rules that depend on Amazon Transcribe's own resources (vocabulary
// names existing, a language model's language, Regions where Transcribe
// runs) cannot be checked without it and are not; neither are the advisory
// ones ("use VocabularyNames instead", X9; PartialResultsStability without
// EnablePartialResultsStabilization, X13), which the real service reports
// asynchronously as a TranscriptFailed event if at all (X2).
func CheckTranscription(c TranscriptionConfiguration) error {
	const p = "TranscriptionConfiguration."
	std, med := c.EngineTranscribeSettings, c.EngineTranscribeMedicalSettings
	switch { // X1
	case std == nil && med == nil:
		return bad(p + "EngineTranscribeSettings or " + p + "EngineTranscribeMedicalSettings is required")
	case std != nil && med != nil:
		return bad("Only one of " + p + "EngineTranscribeSettings and " + p + "EngineTranscribeMedicalSettings may be given")
	case med != nil:
		return nil // X14: its required members are model constraints, already checked.
	}
	q := p + "EngineTranscribeSettings."
	identify := std.IdentifyLanguage != nil && *std.IdentifyLanguage
	if std.LanguageCode == "" && !identify { // X3
		return bad(q + "LanguageCode or " + q + "IdentifyLanguage is required")
	}
	if std.LanguageCode != "" && identify {
		return bad(q + "LanguageCode and " + q + "IdentifyLanguage cannot be used together")
	}
	if std.ContentIdentificationType != "" && std.ContentRedactionType != "" { // X4
		return bad(q + "ContentIdentificationType and " + q + "ContentRedactionType cannot be used together")
	}
	if std.PiiEntityTypes != "" { // X5
		if std.ContentIdentificationType == "" && std.ContentRedactionType == "" {
			return bad(q + "PiiEntityTypes requires ContentIdentificationType or ContentRedactionType")
		}
		for _, t := range strings.Split(std.PiiEntityTypes, ",") {
			if !piiEntityTypes[strings.TrimSpace(t)] {
				return bad(q + "PiiEntityTypes has an unknown entity type")
			}
		}
	}
	if identify && (std.LanguageModelName != "" || std.ContentRedactionType != "") { // X6
		return bad(q + "IdentifyLanguage cannot be combined with LanguageModelName or ContentRedactionType")
	}
	if std.LanguageOptions != "" { // X7
		if !identify {
			return bad(q + "LanguageOptions requires IdentifyLanguage")
		}
		if err := checkLanguageOptions(std.LanguageOptions, q); err != nil {
			return err
		}
	}
	if std.PreferredLanguage != "" { // X8
		if !identify || !containsOption(std.LanguageOptions, std.PreferredLanguage) {
			return bad(q + "PreferredLanguage must be one of LanguageOptions, with IdentifyLanguage")
		}
	}
	return nil
}

// checkLanguageOptions: two or more codes, one dialect per language (X7).
func checkLanguageOptions(opts, q string) error {
	codes := strings.Split(opts, ",")
	if len(codes) < 2 {
		return bad(q + "LanguageOptions needs at least two language codes")
	}
	languages := map[string]bool{}
	for _, code := range codes {
		lang, _, _ := strings.Cut(strings.TrimSpace(code), "-")
		if languages[lang] {
			return bad(q + "LanguageOptions may hold only one dialect per language")
		}
		languages[lang] = true
	}
	return nil
}

func containsOption(opts, code string) bool {
	for _, o := range strings.Split(opts, ",") {
		if strings.TrimSpace(o) == code {
			return true
		}
	}
	return false
}

// StartMeetingTranscription marks a meeting as transcribing (D22): there is
// no transcription engine behind it. Starting again is a no-op.
func (s *Service) StartMeetingTranscription(ctx context.Context, meetingID string, cfg TranscriptionConfiguration) error {
	if err := CheckTranscription(cfg); err != nil {
		return err
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx Tx) error {
		m, err := s.lockLiveMeeting(ctx, tx, meetingID)
		if err != nil || m.Transcribing {
			return err
		}
		m.Transcribing, m.TranscriptionConfig = true, raw
		if err := tx.UpdateMeeting(ctx, m); err != nil {
			return err
		}
		return s.record(ctx, tx, m.ID, EventTranscriptionStarted, "", nil)
	})
}

// StopMeetingTranscription ends transcription; stopping when not started is
// a no-op (D22).
func (s *Service) StopMeetingTranscription(ctx context.Context, meetingID string) error {
	return s.update(ctx, func(tx Tx) error {
		m, err := s.lockLiveMeeting(ctx, tx, meetingID)
		if err != nil || !m.Transcribing {
			return err
		}
		m.Transcribing, m.TranscriptionConfig = false, nil
		if err := tx.UpdateMeeting(ctx, m); err != nil {
			return err
		}
		return s.record(ctx, tx, m.ID, EventTranscriptionStopped, "", nil)
	})
}
