// Package app wires Carillon together: it parses the command line, opens the
// store, builds the domain and wire layers and runs the HTTP server. main
// only calls Run; tests call it too.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/api"
	"github.com/carillon-dev/carillon/internal/apimodel"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/ratelimit"
	"github.com/carillon-dev/carillon/internal/sigv4"
	"github.com/carillon-dev/carillon/internal/store/postgres"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

// Development credentials used when CARILLON_ROOT_* are unset (D24). They are
// public: anyone who can reach the server can use them.
const (
	DevAccessKeyID     = "carillon-root"
	DevSecretAccessKey = "carillon-dev-secret-change-me"
)

// InMemory is the --data value that selects a throwaway in-memory store.
const InMemory = ":memory:"

const usage = `Carillon: an Amazon Chime SDK Meetings control plane.

Usage:
  carillon serve [flags]
  carillon keys create --endpoint URL --name NAME --allow ACTIONS [--meeting-arns PATTERNS]
  carillon keys list --endpoint URL
  carillon keys delete --endpoint URL ACCESS_KEY_ID
  carillon audit --endpoint URL --meeting MEETING_ID

Every serve flag can also be set with an environment variable CARILLON_<FLAG>
(upper case, dashes as underscores), e.g. CARILLON_DATA=/var/lib/carillon.
Root credentials come from CARILLON_ROOT_ACCESS_KEY_ID and
CARILLON_ROOT_SECRET_ACCESS_KEY, for serve and for the admin commands.
`

// config is the parsed serve command line.
type config struct {
	addr               string
	data               string
	databaseURL        string
	region             string
	accountID          string
	publicURL          string
	maxAttendees       int
	meetingMaxDuration time.Duration
	logLevel           string
	rateLimit          *ratelimit.Rate
	maxInFlight        int
	maxMeetings        int
	memoryAttendees    int
	accessKeyID        string
	secretAccessKey    string
	devCredentials     bool
	media              mediaConfig
}

// Run runs the carillon command with args (without the program name). It
// returns when ctx is cancelled (after a graceful shutdown) or on error.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return errors.New("missing command")
		}
		return nil
	}
	switch args[0] {
	case "serve":
		cfg, err := parseServe(args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout, stderr)
	case "keys":
		return runKeys(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], getenv, stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("carillon serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv("CARILLON_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&cfg.addr, "addr", env("addr", "127.0.0.1:8080"), "listen address (host:port; port 0 picks a free port)")
	fs.StringVar(&cfg.data, "data", env("data", "carillon-data"), `embedded store directory, created when missing; "`+InMemory+`" keeps everything in memory and loses it on exit`)
	fs.StringVar(&cfg.databaseURL, "database-url", env("database-url", ""), "PostgreSQL URL (postgres://...): use PostgreSQL instead of the embedded store, so several nodes can share one database")
	fs.StringVar(&cfg.region, "region", env("region", "us-east-1"), "the region clients sign requests for")
	fs.StringVar(&cfg.accountID, "account-id", env("account-id", "111122223333"), "12-digit account id used in meeting ARNs")
	fs.StringVar(&cfg.publicURL, "public-url", env("public-url", ""), "base URL clients use to reach this server; MediaPlacement URLs derive from it (default: http://<addr>)")
	maxDuration := fs.String("meeting-max-duration", env("meeting-max-duration", "24h"), "a meeting ends this long after its creation")
	fs.StringVar(&cfg.logLevel, "log-level", env("log-level", "info"), "debug, info, warn or error")
	rateLimit := fs.String("rate-limit", env("rate-limit", "off"), "per-access-key throttle: off, aws (10/s, burst 20, the AWS quota) or RPS/BURST")
	parseMedia := mediaFlags(fs, env, &cfg.media)
	ints := []struct {
		name  string
		min   int
		dst   *int
		value *string
	}{
		{"max-attendees", 1, &cfg.maxAttendees, fs.String("max-attendees", env("max-attendees", "250"),
			"attendee limit of meetings that set no MeetingFeatures.Attendee.MaxCount; may exceed 250 for large self-hosted meetings")},
		{"max-in-flight", 0, &cfg.maxInFlight, fs.String("max-in-flight", env("max-in-flight", "1024"),
			"API requests served at once; beyond, 503 with Retry-After (0: no cap)")},
		{"max-meetings", 0, &cfg.maxMeetings, fs.String("max-meetings", env("max-meetings", "0"),
			"live meetings per account, LimitExceededException beyond (0: no cap; AWS's default quota is 250)")},
		{"memory-attendees", 0, &cfg.memoryAttendees, fs.String("memory-attendees", env("memory-attendees", strconv.Itoa(sqlite.DefaultLiveAttendees)),
			"embedded store: attendees kept in memory with their meetings, so that reads and batch updates skip SQL (about 520 bytes of RSS each; 0: none)")},
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range ints {
		n, err := strconv.Atoi(*f.value)
		if err != nil || n < f.min {
			return nil, fmt.Errorf("--%s: %q is not an integer >= %d", f.name, *f.value, f.min)
		}
		*f.dst = n
	}
	d, err := time.ParseDuration(*maxDuration)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("--meeting-max-duration: %q is not a positive duration", *maxDuration)
	}
	cfg.meetingMaxDuration = d
	if err := parseMedia(); err != nil {
		return nil, err
	}
	if cfg.rateLimit, err = ratelimit.ParseRate(*rateLimit); err != nil {
		return nil, fmt.Errorf("--rate-limit: %w", err)
	}
	if !accountIDPattern.MatchString(cfg.accountID) {
		return nil, fmt.Errorf("--account-id: %q is not 12 digits", cfg.accountID)
	}
	if cfg.region == "" {
		return nil, errors.New("--region must not be empty")
	}
	cfg.accessKeyID = getenv("CARILLON_ROOT_ACCESS_KEY_ID")
	cfg.secretAccessKey = getenv("CARILLON_ROOT_SECRET_ACCESS_KEY")
	switch {
	case cfg.accessKeyID == "" && cfg.secretAccessKey == "":
		cfg.accessKeyID, cfg.secretAccessKey, cfg.devCredentials = DevAccessKeyID, DevSecretAccessKey, true
	case cfg.accessKeyID == "" || cfg.secretAccessKey == "":
		return nil, errors.New("set both CARILLON_ROOT_ACCESS_KEY_ID and CARILLON_ROOT_SECRET_ACCESS_KEY, or neither")
	}
	return cfg, nil
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func serve(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	log, err := newLogger(cfg.logLevel, stderr)
	if err != nil {
		return err
	}
	model, err := apimodel.Load()
	if err != nil {
		return fmt.Errorf("loading the API model: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	endpoint := "http://" + ln.Addr().String()
	public := endpoint
	if cfg.publicURL != "" {
		public = cfg.publicURL
	}
	publicURL, err := url.Parse(public)
	if err != nil || (publicURL.Scheme != "http" && publicURL.Scheme != "https") || publicURL.Host == "" {
		return fmt.Errorf("--public-url: %q is not an http(s) URL", public)
	}

	mediaURL, err := mediaBaseURL(cfg, publicURL)
	if err != nil {
		return err
	}
	store, storeDesc, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}()

	svc := meetings.NewService(store, meetings.Config{
		Account:             cfg.accountID,
		PublicBaseURL:       publicURL,
		MediaBaseURL:        mediaURL,
		MaxMeetingDuration:  cfg.meetingMaxDuration,
		DefaultMaxAttendees: cfg.maxAttendees,
		MaxMeetings:         cfg.maxMeetings,
		PageKey:             derivedKey(cfg.secretAccessKey, "carillon list-attendees page token v1"),
	})
	keyring, err := access.NewKeyring(cfg.accessKeyID, cfg.secretAccessKey, store)
	if err != nil {
		return err
	}
	verifier := &sigv4.Verifier{Region: cfg.region, Service: "chime", Keys: keyring}
	var limiter *ratelimit.Limiter
	if cfg.rateLimit != nil {
		limiter = ratelimit.New(*cfg.rateLimit, nil)
	}
	apiHandler := api.NewServer(api.Options{Model: model, Service: svc, Verifier: verifier, Keyring: keyring,
		Logger: log, Limiter: limiter, MaxInFlight: cfg.maxInFlight})
	mediaCtx, stopMedia := context.WithCancel(ctx)
	defer stopMedia()
	plane, err := startMediaPlane(mediaCtx, cfg, ln, svc, store, log)
	if err != nil {
		return err
	}
	defer plane.close()
	handler := plane.routes(apiHandler)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	printBanner(stdout, cfg, endpoint, storeDesc)
	if cfg.devCredentials {
		log.Warn("CARILLON_ROOT_ACCESS_KEY_ID and CARILLON_ROOT_SECRET_ACCESS_KEY are unset: using the public development credentials; set them before exposing this server")
	}

	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go sweepExpired(sweepCtx, svc, log)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish, then close the store
	// (deferred above).
	log.Info("shutting down")
	stopMedia()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// store is what an engine provides: meetings and access keys.
type store interface {
	meetings.Store
	access.Store
}

func openStore(ctx context.Context, cfg *config, log *slog.Logger) (store, string, error) {
	if cfg.databaseURL != "" {
		s, err := postgres.Open(ctx, postgres.Options{URL: cfg.databaseURL, Logger: log})
		return s, "PostgreSQL (" + redactURL(cfg.databaseURL) + ")", err
	}
	if cfg.data == InMemory {
		s, err := sqlite.Open(ctx, sqlite.Options{InMemory: true, Logger: log, LiveAttendees: cfg.memoryAttendees})
		return s, "in-memory (nothing is kept after exit)", err
	}
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: cfg.data, Logger: log, LiveAttendees: cfg.memoryAttendees})
	return s, "embedded SQLite in " + cfg.data, err
}

// redactURL drops the password from a database URL before it is printed;
// a key=value DSN is not printed at all.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "key=value DSN"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// derivedKey derives a purpose-specific key from the root secret, so every
// node of a deployment agrees on it without more configuration.
func derivedKey(secret, purpose string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

func printBanner(w io.Writer, cfg *config, endpoint, storeDesc string) {
	secret := "$CARILLON_ROOT_SECRET_ACCESS_KEY"
	if cfg.devCredentials {
		secret = DevSecretAccessKey
	}
	fmt.Fprintf(w, `Carillon is serving the Amazon Chime SDK Meetings API
Endpoint: %s
Region:   %s
Store:    %s

Point an AWS client at it:
  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s
  aws chime-sdk-meetings create-meeting --endpoint-url %s \
      --media-region %s --external-meeting-id demo --client-request-token demo-1
`, endpoint, cfg.region, storeDesc, cfg.accessKeyID, secret, cfg.region, endpoint, cfg.region)
}

// sweepExpired reclaims meetings that ended by age (D20) once a minute.
func sweepExpired(ctx context.Context, svc *meetings.Service, log *slog.Logger) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if n, err := svc.SweepExpired(ctx, 500); err != nil {
				log.Warn("sweeping ended meetings", "err", err)
			} else if n > 0 {
				log.Info("swept ended meetings", "count", n)
			}
		}
	}
}
