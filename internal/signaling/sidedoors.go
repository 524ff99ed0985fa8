package signaling

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/carillon-dev/carillon/internal/meetings"
)

// maxClientEventsBytes bounds one client-event batch. The SDK's buffer
// holds at most a few hundred kilobytes.
const maxClientEventsBytes = 1 << 20

// allowCORS answers what a browser page on another origin needs to call the
// side doors: the SDK calls them with fetch from the application's page.
func allowCORS(w http.ResponseWriter, r *http.Request, headers string) bool {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", headers)
	h.Set("Access-Control-Max-Age", "600")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if r.Method != http.MethodPost {
		h.Set("Allow", "POST, OPTIONS")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "use POST"})
		return true
	}
	return false
}

// TurnControl serves TurnControlUrl for SDKs before 3.20, which ask it for
// TURN credentials when the JOIN_ACK has none. Carillon runs no TURN
// server, so the answer is an empty list: host candidates only.
func (s *Server) TurnControl(w http.ResponseWriter, r *http.Request) {
	if allowCORS(w, r, "Content-Type, X-Chime-Auth-Token") {
		return
	}
	var body struct {
		MeetingID string `json:"meetingId"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "body must be {\"meetingId\": ...}"})
		return
	}
	token := strings.TrimPrefix(r.Header.Get("X-Chime-Auth-Token"), Subprotocol+"=")
	if _, err := s.cfg.Auth.AuthorizeJoin(r.Context(), body.MeetingID, token); err != nil {
		s.sideDoorRefusal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"username": "", "password": "", "ttl": 0, "uris": []string{}})
}

// ClientEvents serves EventIngestionUrl: the SDK's client-side event batches
// (meeting start, failures, timings). The token is checked, and the events
// are accepted and discarded: Carillon's own history already records what
// the server sees.
func (s *Server) ClientEvents(w http.ResponseWriter, r *http.Request) {
	if allowCORS(w, r, "Authorization, Content-Type") {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxClientEventsBytes+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "unreadable body"})
		return
	}
	if len(raw) > maxClientEventsBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "event batch over 1 MiB"})
		return
	}
	var body struct {
		Metadata struct {
			MeetingID string `json:"meetingId"`
		} `json:"metadata"`
		// A page being unloaded sends with navigator.sendBeacon, which
		// cannot set headers: the token rides in the body.
		Authorization string `json:"authorization"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "body is not JSON"})
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = body.Authorization
	}
	token, _ = strings.CutSuffix(token, contentSuffix)
	if token == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "missing bearer JoinToken"})
		return
	}
	if _, err := s.cfg.Auth.AuthorizeJoin(r.Context(), body.Metadata.MeetingID, token); err != nil {
		s.sideDoorRefusal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{})
}

func (s *Server) sideDoorRefusal(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, meetings.ErrMeetingGone):
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "meeting not found"})
	case errors.Is(err, meetings.ErrJoinRefused):
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "JoinToken refused"})
	default:
		s.cfg.Log.Warn("signaling: checking a JoinToken", "err", err)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "try again"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
