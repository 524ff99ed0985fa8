// Package api is Carillon's wire layer: it authenticates, routes, decodes and
// validates Chime SDK Meetings requests, calls the domain (internal/meetings)
// and encodes responses and AWS errors (D1). It holds no business rules.
package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/apimodel"
	"github.com/carillon-dev/carillon/internal/ids"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/ratelimit"
	"github.com/carillon-dev/carillon/internal/sigv4"
	"github.com/carillon-dev/carillon/internal/store"
)

// MaxBodyBytes is the largest request body accepted (D5).
const MaxBodyBytes = 1 << 20

// retryAfterSeconds is sent with 503s caused by an unavailable store.
const retryAfterSeconds = 2

// Options are the Server's dependencies and limits.
type Options struct {
	Model    *apimodel.Model
	Service  *meetings.Service
	Verifier *sigv4.Verifier
	// Keyring says which keys exist and what each may do; its Secret method
	// must be what Verifier.Keys uses.
	Keyring *access.Keyring
	Logger  *slog.Logger
	// Limiter throttles requests per access key; nil means no throttling.
	Limiter *ratelimit.Limiter
	// MaxInFlight caps the API requests served at once; beyond it requests
	// get 503 with Retry-After. Zero means no cap.
	MaxInFlight int
	// AuthFailures throttles, per source address, the requests that fail
	// authentication; nil means no such limit.
	AuthFailures *ratelimit.FailureGuard
	// Observer is told the operation, status and latency of every API and
	// admin request; nil means none.
	Observer RequestObserver
	// Dev makes every authenticated caller root (--dev: Verifier then
	// accepts any access key).
	Dev bool
}

// RequestObserver receives one call per API or admin request answered.
// operation is an operation name, "admin:<Name>", or "unknown" (the request
// failed before it was routed).
type RequestObserver interface {
	ObserveRequest(operation string, status int, d time.Duration)
}

// Server serves the Chime SDK Meetings API and Carillon's own endpoints.
type Server struct {
	model    *apimodel.Model
	svc      *meetings.Service
	verifier *sigv4.Verifier
	keyring  *access.Keyring
	log      *slog.Logger
	limiter  *ratelimit.Limiter
	failures *ratelimit.FailureGuard
	observer RequestObserver
	dev      bool
	inFlight chan struct{} // nil: no cap
	handlers map[string]handler
}

// request is what a handler gets: the route's labels, the query and the
// validated body.
type request struct {
	labels map[string]string
	query  url.Values
	body   []byte
}

// handler runs one operation and returns the output to encode as JSON (nil
// for operations without an output shape, D6).
type handler func(ctx context.Context, req *request) (any, error)

// NewServer returns the HTTP handler of the whole server.
func NewServer(o Options) *Server {
	s := &Server{model: o.Model, svc: o.Service, verifier: o.Verifier, keyring: o.Keyring, log: o.Logger, limiter: o.Limiter,
		failures: o.AuthFailures, observer: o.Observer, dev: o.Dev}
	if o.MaxInFlight > 0 {
		s.inFlight = make(chan struct{}, o.MaxInFlight)
	}
	s.handlers = s.routes()
	for _, op := range s.model.Operations() {
		if s.handlers[op.Name] == nil {
			panic("api: no handler for operation " + op.Name)
		}
	}
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := newRequestID()
	w.Header().Set("x-amzn-RequestId", requestID)
	rec := &statusRecorder{ResponseWriter: w}
	var opName, accessKey string
	health := false
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic serving request", "request_id", requestID, "panic", p)
			if rec.status == 0 {
				writeError(rec, requestID, apierr.New(apierr.ServiceFailure, "An internal error occurred"))
			}
		}
		s.logRequest(r, requestID, opName, accessKey, rec.status, time.Since(start), health)
	}()

	switch r.URL.Path {
	case "/carillon/health/live":
		health = true
		writeHealth(rec, nil)
		return
	case "/carillon/health/ready":
		health = true
		writeHealth(rec, s.svc.Ready(r.Context()))
		return
	}

	// An address that has spent its budget of failed authentications is
	// refused before anything else, at the cost of this check alone.
	source := ratelimit.Source(r)
	if refused, wait := s.failures.Refused(source); refused {
		s.failures.Hold(r.Context())
		rec.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		writeError(rec, requestID, apierr.New(apierr.Throttling, "Too many requests that failed authentication from this address; retry later"))
		return
	}
	var err error
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		opName, accessKey, err = s.serveAdmin(rec, r, requestID)
	} else {
		opName, accessKey, err = s.serveAPI(rec, r, requestID)
	}
	if err != nil {
		s.writeFailure(rec, requestID, opName, err)
	}
}

// logRequest writes the access log line (info; health checks at debug, as a
// load balancer polls them) and feeds the metrics. Never a secret: the body,
// the query and the headers are not logged.
func (s *Server) logRequest(r *http.Request, requestID, opName, accessKey string, status int, d time.Duration, health bool) {
	level := slog.LevelInfo
	if health {
		level = slog.LevelDebug
	} else if s.observer != nil {
		label := opName
		if label == "" {
			label = "unknown"
		}
		s.observer.ObserveRequest(label, status, d)
	}
	ctx := r.Context()
	if !s.log.Enabled(ctx, level) {
		return
	}
	s.log.LogAttrs(ctx, level, "request",
		slog.String("request_id", requestID),
		slog.String("method", r.Method),
		slog.String("path", sanitize(r.URL.Path)),
		slog.String("operation", opName),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(d.Microseconds())/1000),
		slog.String("access_key_id", accessKey),
		slog.String("source", ratelimit.Source(r)))
}

// authenticate verifies the signature, applies the caller's throttle and
// takes an in-flight slot, which the caller must give back with release
// (nil on error). A failed authentication is charged to the request's
// source address. Only authenticated requests count against
// --max-in-flight, so that unauthenticated ones, however many, cannot push
// signed callers into 503s: they are bounded by the failure budget instead.
func (s *Server) authenticate(r *http.Request, body []byte) (accessKey string, release func(), err error) {
	accessKey, authErr := s.verifier.Verify(r, body)
	if authErr != nil {
		if apierr.Is(authErr, apierr.Unauthorized) {
			s.failures.Failed(ratelimit.Source(r))
		}
		return "", nil, authErr
	}
	if s.limiter != nil {
		if ok, _ := s.limiter.Allow(accessKey); !ok {
			return accessKey, nil, apierr.New(apierr.Throttling, "Rate exceeded for access key %s", accessKey)
		}
	}
	if s.inFlight == nil {
		return accessKey, func() {}, nil
	}
	select {
	case s.inFlight <- struct{}{}:
		return accessKey, func() { <-s.inFlight }, nil
	default:
		return accessKey, nil, &apierr.Error{Kind: apierr.ServiceUnavailable,
			Message: "Too many requests in flight; retry later", RetryAfterSeconds: 1}
	}
}

// isRoot reports whether a caller has every right: the root key, or anyone
// in --dev mode.
func (s *Server) isRoot(accessKey string) bool { return s.dev || s.keyring.IsRoot(accessKey) }

// serveAPI runs the checks in the order D2 fixes: authentication, route,
// body decoding and validation, then the domain (existence, business rules).
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, requestID string) (opName, accessKey string, err error) {
	body, err := readBody(w, r)
	if err != nil {
		return "", "", err
	}
	accessKey, release, err := s.authenticate(r, body)
	if err != nil {
		return "", accessKey, err
	}
	defer release()
	op, labels, routeErr := s.model.Match(r.Method, r.URL.EscapedPath(), r.URL.Query())
	if routeErr != nil {
		return "", accessKey, routeErr
	}
	caller := meetings.Caller{RequestID: requestID, AccessKeyID: accessKey}
	if !s.isRoot(accessKey) {
		// A key's policy: the action here, the meeting in the domain once
		// it is loaded (D23: 403, nothing changes).
		policy, err := s.keyring.Policy(r.Context(), accessKey)
		if err != nil {
			return op.Name, accessKey, err
		}
		if !policy.AllowsAction(op.Name) {
			return op.Name, accessKey, apierr.New(apierr.Forbidden, "The access key is not allowed to call %s", op.Name)
		}
		caller.MayAccess = policy.AllowsMeeting
	}
	query := r.URL.Query()
	if verr := op.Validate(labels, query, body); verr != nil {
		return op.Name, accessKey, verr
	}
	ctx := meetings.WithCaller(r.Context(), caller)
	out, err := s.handlers[op.Name](ctx, &request{labels: labels, query: query, body: body})
	if err != nil {
		return op.Name, accessKey, err
	}
	writeOutput(w, op.ResponseCode, out)
	return op.Name, accessKey, nil
}

// readBody reads the whole body, refusing more than MaxBodyBytes (D5).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, apierr.New(apierr.BadRequest, "Request body is larger than %d bytes", MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, apierr.New(apierr.BadRequest, "Request body is larger than %d bytes", MaxBodyBytes)
	}
	if err != nil {
		return nil, apierr.New(apierr.BadRequest, "Could not read the request body")
	}
	return body, nil
}

// writeFailure maps any error to the wire. Errors that are not *apierr.Error
// are internal: logged with the request id, reported without detail.
func (s *Server) writeFailure(w http.ResponseWriter, requestID, opName string, err error) {
	if e, ok := apierr.As(err); ok {
		writeError(w, requestID, e)
		return
	}
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("storage unavailable", "request_id", requestID, "operation", opName, "err", err)
		writeError(w, requestID, &apierr.Error{Kind: apierr.ServiceUnavailable,
			Message: "The service is temporarily unavailable; retry later", RetryAfterSeconds: retryAfterSeconds})
		return
	}
	s.log.Error("internal error", "request_id", requestID, "operation", opName, "err", err)
	writeError(w, requestID, apierr.New(apierr.ServiceFailure, "An internal error occurred (request %s)", requestID))
}

// writeError writes the D1 error form that every official SDK maps.
func writeError(w http.ResponseWriter, requestID string, e *apierr.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Kind.Code())
	if e.Kind == apierr.ServiceUnavailable {
		retry := e.RetryAfterSeconds
		if retry <= 0 {
			retry = retryAfterSeconds
		}
		h.Set("Retry-After", strconv.Itoa(retry))
	}
	body := struct {
		Code         string
		Message      string
		RequestId    string
		ResourceName string `json:",omitempty"`
	}{e.Kind.Code(), e.Message, requestID, e.ResourceName}
	w.WriteHeader(e.Kind.Status())
	_ = json.NewEncoder(w).Encode(body)
}

func writeOutput(w http.ResponseWriter, status int, out any) {
	if out == nil || status == http.StatusNoContent {
		w.WriteHeader(status) // D6: no output shape, empty body
		return
	}
	buf, err := json.Marshal(out)
	if err != nil {
		panic(err) // our own output types always marshal
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	w.WriteHeader(status)
	_, _ = w.Write(buf)
}

func writeHealth(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"unavailable"}`+"\n")
		return
	}
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// newRequestID returns a random UUID-shaped request id.
func newRequestID() string {
	id, err := ids.NewUUID(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return id
}

// statusRecorder remembers the status written, for logging and for knowing
// whether a panic can still be reported.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
