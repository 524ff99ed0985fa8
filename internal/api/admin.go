package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/store"
)

// adminPrefix is where Carillon's own administration API lives: access keys,
// the audit history, and meetings listed and deleted in bulk (not AWS
// operations: they stay off the AWS routes). Requests are SigV4-signed like API requests and
// must use the root key.
const adminPrefix = "/carillon/admin/"

// KeyCreateRequest is the body of POST /carillon/admin/keys.
type KeyCreateRequest struct {
	Name        string   `json:"Name"`
	Allow       []string `json:"Allow"`
	MeetingArns []string `json:"MeetingArns,omitempty"`
}

// KeyCreated is its answer: the only time the secret is shown.
type KeyCreated struct {
	AccessKeyId     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
}

// KeyInfo describes a key without its secret.
type KeyInfo struct {
	AccessKeyId string    `json:"AccessKeyId"`
	Name        string    `json:"Name"`
	Allow       []string  `json:"Allow"`
	MeetingArns []string  `json:"MeetingArns"`
	CreatedAt   time.Time `json:"CreatedAt"`
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, requestID string) (opName, accessKey string, err error) {
	body, err := readBody(w, r)
	if err != nil {
		return "", "", err
	}
	accessKey, release, err := s.authenticate(r, body)
	if err != nil {
		return "", accessKey, err
	}
	defer release()
	if !s.isRoot(accessKey) {
		return "", accessKey, apierr.New(apierr.Forbidden, "Only the root access key may use the administration API")
	}
	path := strings.TrimPrefix(r.URL.Path, adminPrefix)
	ctx := meetings.WithCaller(r.Context(), meetings.Caller{RequestID: requestID, AccessKeyID: accessKey})
	switch {
	case path == "keys" && r.Method == http.MethodPost:
		var in KeyCreateRequest
		if err := json.Unmarshal(body, &in); err != nil {
			return "admin:CreateKey", accessKey, apierr.New(apierr.BadRequest, "The request body is not valid JSON")
		}
		if in.Name == "" || len(in.Name) > 128 {
			return "admin:CreateKey", accessKey, apierr.New(apierr.BadRequest, "Name must have 1 to 128 characters")
		}
		p := access.Policy{Actions: in.Allow, MeetingARNs: in.MeetingArns}
		if err := access.CheckPolicy(p, s.operationNames()); err != nil {
			return "admin:CreateKey", accessKey, apierr.New(apierr.BadRequest, "%s", err.Error())
		}
		id, secret, err := s.keyring.NewKey(ctx, in.Name, p)
		if err != nil {
			return "admin:CreateKey", accessKey, err
		}
		writeOutput(w, http.StatusOK, KeyCreated{id, secret})
		return "admin:CreateKey", accessKey, nil
	case path == "keys" && r.Method == http.MethodGet:
		keys, err := s.keyring.Keys(ctx)
		if err != nil {
			return "admin:ListKeys", accessKey, err
		}
		out := struct{ Keys []KeyInfo }{Keys: make([]KeyInfo, 0, len(keys))}
		for _, k := range keys {
			out.Keys = append(out.Keys, KeyInfo{k.AccessKeyID, k.Name, orEmpty(k.Actions), orEmpty(k.MeetingARNs), k.CreatedAt})
		}
		writeOutput(w, http.StatusOK, out)
		return "admin:ListKeys", accessKey, nil
	case strings.HasPrefix(path, "keys/") && r.Method == http.MethodDelete:
		id := strings.TrimPrefix(path, "keys/")
		err := s.keyring.DeleteKey(ctx, id)
		if errors.Is(err, store.ErrNoRecord) {
			return "admin:DeleteKey", accessKey, apierr.New(apierr.NotFound, "Access key %s not found", id)
		}
		if err != nil {
			return "admin:DeleteKey", accessKey, err
		}
		writeOutput(w, http.StatusNoContent, nil)
		return "admin:DeleteKey", accessKey, nil
	case path == "meetings" && r.Method == http.MethodGet:
		limit := 1000
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10000 {
				return "admin:ListMeetings", accessKey, apierr.New(apierr.BadRequest, "limit must be an integer from 1 to 10000")
			}
			limit = n
		}
		list, err := s.svc.ListMeetings(ctx, limit)
		if err != nil {
			return "admin:ListMeetings", accessKey, err
		}
		writeOutput(w, http.StatusOK, struct{ Meetings []meetings.MeetingSummary }{orEmptyList(list)})
		return "admin:ListMeetings", accessKey, nil
	case path == "meetings" && r.Method == http.MethodDelete:
		n, err := s.svc.DeleteAllMeetings(ctx)
		if err != nil {
			return "admin:DeleteAllMeetings", accessKey, err
		}
		writeOutput(w, http.StatusOK, struct{ Deleted int }{n})
		return "admin:DeleteAllMeetings", accessKey, nil
	case strings.HasPrefix(path, "meetings/") && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
		// The same domain calls as GetMeeting and DeleteMeeting, for the CLI.
		id := strings.TrimPrefix(path, "meetings/")
		if !meetings.IsGUID(id) {
			return "admin:Meeting", accessKey, apierr.New(apierr.BadRequest, "%q is not a meeting id", sanitize(id))
		}
		if r.Method == http.MethodDelete {
			if err := s.svc.DeleteMeeting(ctx, id); err != nil {
				return "admin:DeleteMeeting", accessKey, err
			}
			writeOutput(w, http.StatusNoContent, nil)
			return "admin:DeleteMeeting", accessKey, nil
		}
		m, err := s.svc.GetMeeting(ctx, id)
		if err != nil {
			return "admin:GetMeeting", accessKey, err
		}
		writeOutput(w, http.StatusOK, struct{ Meeting *meetings.Meeting }{m})
		return "admin:GetMeeting", accessKey, nil
	case path == "audit" && r.Method == http.MethodGet:
		meetingID := r.URL.Query().Get("meeting")
		if !meetings.IsGUID(meetingID) {
			return "admin:Audit", accessKey, apierr.New(apierr.BadRequest, "meeting must be a meeting id")
		}
		changes, err := s.svc.CapabilityHistory(ctx, meetingID)
		if err != nil {
			return "admin:Audit", accessKey, err
		}
		writeOutput(w, http.StatusOK, struct{ Changes []meetings.CapabilityChange }{changes})
		return "admin:Audit", accessKey, nil
	}
	return "", accessKey, apierr.New(apierr.UnknownOperation, "No administration operation %s %s", sanitize(r.Method), sanitize(r.URL.Path))
}

func (s *Server) operationNames() []string {
	ops := s.model.Operations()
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = op.Name
	}
	return names
}

func orEmptyList(list []meetings.MeetingSummary) []meetings.MeetingSummary {
	if list == nil {
		return []meetings.MeetingSummary{}
	}
	return list
}

func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// sanitize bounds request text echoed in a message.
func sanitize(s string) string {
	if len(s) > 100 {
		s = s[:100]
	}
	return strings.ToValidUTF8(s, "?")
}
