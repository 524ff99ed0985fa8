package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/carillon-dev/carillon/internal/api"
)

// adminClient calls a running server's administration API with the root
// credentials, signing like the SDKs do.
type adminClient struct {
	endpoint *url.URL
	region   string
	creds    aws.Credentials
	http     *http.Client
}

// adminFlags parses the flags every admin command shares, plus the
// command's own (registered by define), and builds the client.
func adminFlags(cmd command, args []string, getenv func(string) string, stdout io.Writer, define func(fs *flag.FlagSet)) (*adminClient, *flag.FlagSet, error) {
	fs := newFlagSet(cmd.name)
	endpoint := fs.String("endpoint", getenv("CARILLON_ENDPOINT"), "`URL` of the running server (env CARILLON_ENDPOINT)")
	region := fs.String("region", firstNonEmpty(getenv("CARILLON_REGION"), "us-east-1"), "the server's `region` (env CARILLON_REGION)")
	if define != nil {
		define(fs)
	}
	if err := parseFlags(cmd, fs, args, stdout); err != nil {
		return nil, nil, err
	}
	if *endpoint == "" {
		return nil, nil, usageErrorf("carillon %s: --endpoint is required (e.g. --endpoint http://127.0.0.1:8080)", cmd.name)
	}
	u, err := url.Parse(*endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, usageErrorf("carillon %s: --endpoint: %q is not an http(s) URL", cmd.name, redactURL(*endpoint))
	}
	id, secret := getenv("CARILLON_ROOT_ACCESS_KEY_ID"), getenv("CARILLON_ROOT_SECRET_ACCESS_KEY")
	if id == "" && secret == "" {
		id, secret = DevAccessKeyID, DevSecretAccessKey
	}
	return &adminClient{endpoint: u, region: *region,
		creds: aws.Credentials{AccessKeyID: id, SecretAccessKey: secret},
		http:  &http.Client{Timeout: 30 * time.Second}}, fs, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// call sends one signed request and decodes a JSON answer into out (if not
// nil). Errors carry the server's error code and message.
func (c *adminClient) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	u := *c.endpoint
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "chime", c.region, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Code, Message string }
		if json.Unmarshal(raw, &e) == nil && e.Code != "" {
			return fmt.Errorf("%s (HTTP %d): %s", e.Code, resp.StatusCode, e.Message)
		}
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

var (
	keysCreateCommand = command{name: "keys create", synopsis: "--endpoint URL --name NAME --allow ACTIONS [--meeting-arns PATTERNS]",
		summary: "Creates an access key and prints it as JSON; its secret is shown only this once."}
	keysListCommand   = command{name: "keys list", synopsis: "--endpoint URL", summary: "Lists the access keys, one JSON object a line, without their secrets."}
	keysDeleteCommand = command{name: "keys delete", synopsis: "--endpoint URL ACCESS_KEY_ID", summary: "Deletes an access key; it is refused at once on every node."}
	auditCommand      = command{name: "audit", synopsis: "--endpoint URL --meeting MEETING_ID",
		summary: "Prints a meeting's capability changes, one JSON object a line, oldest first."}
)

// runKeys implements `carillon keys create|list|delete`.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	sub, args, err := group("keys", "  create   create an access key\n  list     list the access keys\n  delete   delete an access key\n", args, stdout)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		var name, allow, arns string
		c, _, err := adminFlags(keysCreateCommand, args, getenv, stdout, func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "a `name` for the key")
			fs.StringVar(&allow, "allow", "", "comma-separated `actions`, e.g. chime:GetMeeting,chime:Get*,chime:*")
			fs.StringVar(&arns, "meeting-arns", "", "comma-separated meeting ARN `globs` (empty: every meeting)")
		})
		if err != nil {
			return err
		}
		var out api.KeyCreated
		if err := c.call(ctx, http.MethodPost, "/carillon/admin/keys", nil,
			api.KeyCreateRequest{Name: name, Allow: splitList(allow), MeetingArns: splitList(arns)}, &out); err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(out)
	case "list":
		c, _, err := adminFlags(keysListCommand, args, getenv, stdout, nil)
		if err != nil {
			return err
		}
		var out struct{ Keys []api.KeyInfo }
		if err := c.call(ctx, http.MethodGet, "/carillon/admin/keys", nil, nil, &out); err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		for _, k := range out.Keys {
			if err := enc.Encode(k); err != nil {
				return err
			}
		}
		return nil
	case "delete":
		c, fs, err := adminFlags(keysDeleteCommand, args, getenv, stdout, nil)
		if err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageErrorf("usage: carillon keys delete --endpoint URL ACCESS_KEY_ID")
		}
		return c.call(ctx, http.MethodDelete, "/carillon/admin/keys/"+url.PathEscape(fs.Arg(0)), nil, nil, nil)
	}
	return usageErrorf("carillon keys: unknown subcommand %q (want create, list or delete)", sub)
}

// runAudit implements `carillon audit --meeting ID`: one JSON object per
// capability change, oldest first.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var meeting string
	c, _, err := adminFlags(auditCommand, args, getenv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&meeting, "meeting", "", "meeting `id`")
	})
	if err != nil {
		return err
	}
	if meeting == "" {
		return usageErrorf("carillon audit: --meeting is required")
	}
	var out struct{ Changes []json.RawMessage }
	if err := c.call(ctx, http.MethodGet, "/carillon/admin/audit", url.Values{"meeting": {meeting}}, nil, &out); err != nil {
		return err
	}
	for _, ch := range out.Changes {
		if _, err := fmt.Fprintf(stdout, "%s\n", ch); err != nil {
			return err
		}
	}
	return nil
}
