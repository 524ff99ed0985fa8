package e2e

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
)

// TestBannerCommandsWork runs what the start-up banner tells a new user to
// run. The AWS CLI cannot be installed on the machines this suite runs on
// (no PyPI), so the banner's `aws` command is carried out with
// aws-sdk-go-v2 configured by config.LoadDefaultConfig from exactly the
// environment the banner's export line sets (nothing else: no profile, no
// config file), and its options are mapped one to one onto the request.
// The region is checked twice: with the whole export line, and with
// AWS_DEFAULT_REGION alone (what boto3 and AWS CLI v1 read).
func TestBannerCommandsWork(t *testing.T) {
	s := startServerEnv(t, engines(t)[0], map[string]string{}) // development credentials: the banner shows them whole
	exports, command := bannerCommands(t, s.Banner)

	for _, tc := range []struct {
		name string
		drop string
	}{{"every export", ""}, {"AWS_DEFAULT_REGION alone", "AWS_REGION"}} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWSEnv(t)
			for k, v := range exports {
				if k != tc.drop {
					t.Setenv(k, v)
				}
			}
			cfg, err := config.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != testRegion {
				t.Fatalf("region from the banner's exports: %q, want %q", cfg.Region, testRegion)
			}
			client := chimesdkmeetings.NewFromConfig(cfg, func(o *chimesdkmeetings.Options) {
				o.BaseEndpoint = aws.String(command["--endpoint-url"])
				o.RetryMaxAttempts = 1
			})
			out, err := client.CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
				MediaRegion:        aws.String(command["--media-region"]),
				ExternalMeetingId:  aws.String(command["--external-meeting-id"]),
				ClientRequestToken: aws.String(command["--client-request-token"]),
			})
			if err != nil {
				t.Fatalf("the banner's create-meeting: %v", err)
			}
			if out.Meeting == nil || out.Meeting.MeetingId == nil {
				t.Fatal("no meeting")
			}
		})
	}
}

// bannerCommands parses the banner's `export` line and its `aws` command,
// failing on anything this test would not carry out.
func bannerCommands(t *testing.T, banner string) (exports, options map[string]string) {
	t.Helper()
	exports, options = map[string]string{}, map[string]string{}
	var sawAWS bool
	for _, line := range strings.Split(banner, "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) > 0 && fields[0] == "export":
			for _, f := range fields[1:] {
				k, v, ok := strings.Cut(f, "=")
				if !ok || strings.ContainsAny(v, "$`\"'") {
					t.Fatalf("export %q is not a plain assignment", f)
				}
				exports[k] = v
			}
		case len(fields) > 0 && fields[0] == "aws":
			sawAWS = true
			if len(fields) < 3 || fields[1] != "chime-sdk-meetings" || fields[2] != "create-meeting" {
				t.Fatalf("banner command %q: this test knows only create-meeting", line)
			}
			rest := fields[3:]
			if len(rest)%2 != 0 {
				t.Fatalf("banner command %q: options without values", line)
			}
			for i := 0; i < len(rest); i += 2 {
				switch rest[i] {
				case "--endpoint-url", "--media-region", "--external-meeting-id", "--client-request-token":
					options[rest[i]] = rest[i+1]
				default:
					t.Fatalf("banner command uses %s, which this test does not map", rest[i])
				}
			}
		}
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		if exports[k] == "" {
			t.Fatalf("the banner does not export %s:\n%s", k, banner)
		}
	}
	if !sawAWS || options["--endpoint-url"] == "" {
		t.Fatalf("no aws command with --endpoint-url in the banner:\n%s", banner)
	}
	return exports, options
}

// isolateAWSEnv clears every AWS_* variable and points the shared config
// files at nothing, so that only what the test sets is read.
func isolateAWSEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}
