package meetings

import (
	"testing"

	"github.com/carillon-dev/carillon/internal/apierr"
)

func TestCheckTranscription(t *testing.T) {
	yes := true
	std := func(s EngineTranscribeSettings) TranscriptionConfiguration {
		return TranscriptionConfiguration{EngineTranscribeSettings: &s}
	}
	med := &EngineTranscribeMedicalSettings{LanguageCode: "en-US", Specialty: "PRIMARYCARE", Type: "CONVERSATION"}
	tests := []struct {
		name string
		cfg  TranscriptionConfiguration
		ok   bool
	}{
		{"language code", std(EngineTranscribeSettings{LanguageCode: "en-US"}), true},
		{"medical", TranscriptionConfiguration{EngineTranscribeMedicalSettings: med}, true},
		{"X1 neither engine", TranscriptionConfiguration{}, false},
		{"X1 both engines", TranscriptionConfiguration{EngineTranscribeSettings: &EngineTranscribeSettings{LanguageCode: "en-US"}, EngineTranscribeMedicalSettings: med}, false},
		{"X3 no language", std(EngineTranscribeSettings{}), false},
		{"X3 both language code and identify", std(EngineTranscribeSettings{LanguageCode: "en-US", IdentifyLanguage: &yes}), false},
		{"identify alone", std(EngineTranscribeSettings{IdentifyLanguage: &yes}), true},
		{"X4 identification and redaction", std(EngineTranscribeSettings{LanguageCode: "en-US", ContentIdentificationType: "PII", ContentRedactionType: "PII"}), false},
		{"X5 pii types without type", std(EngineTranscribeSettings{LanguageCode: "en-US", PiiEntityTypes: "NAME"}), false},
		{"X5 pii types with redaction", std(EngineTranscribeSettings{LanguageCode: "en-US", ContentRedactionType: "PII", PiiEntityTypes: "NAME, SSN"}), true},
		{"X5 unknown pii type", std(EngineTranscribeSettings{LanguageCode: "en-US", ContentRedactionType: "PII", PiiEntityTypes: "NAME,SHOE_SIZE"}), false},
		{"X6 identify with language model", std(EngineTranscribeSettings{IdentifyLanguage: &yes, LanguageModelName: "m"}), false},
		{"X6 identify with redaction", std(EngineTranscribeSettings{IdentifyLanguage: &yes, ContentRedactionType: "PII"}), false},
		{"X7 options without identify", std(EngineTranscribeSettings{LanguageCode: "en-US", LanguageOptions: "en-US,fr-FR"}), false},
		{"X7 one option", std(EngineTranscribeSettings{IdentifyLanguage: &yes, LanguageOptions: "en-US"}), false},
		{"X7 two dialects of one language", std(EngineTranscribeSettings{IdentifyLanguage: &yes, LanguageOptions: "en-US,en-AU"}), false},
		{"X7 options", std(EngineTranscribeSettings{IdentifyLanguage: &yes, LanguageOptions: "en-US,fr-FR"}), true},
		{"X8 preferred in options", std(EngineTranscribeSettings{IdentifyLanguage: &yes, LanguageOptions: "en-US,fr-FR", PreferredLanguage: "fr-FR"}), true},
		{"X8 preferred not in options", std(EngineTranscribeSettings{IdentifyLanguage: &yes, LanguageOptions: "en-US,fr-FR", PreferredLanguage: "de-DE"}), false},
		{"X8 preferred without options", std(EngineTranscribeSettings{IdentifyLanguage: &yes, PreferredLanguage: "de-DE"}), false},
	}
	for _, tt := range tests {
		err := CheckTranscription(tt.cfg)
		if tt.ok && err != nil {
			t.Errorf("%s: unexpected error %v", tt.name, err)
		}
		if !tt.ok && !apierr.Is(err, apierr.BadRequest) {
			t.Errorf("%s: want BadRequest, got %v", tt.name, err)
		}
	}
}
