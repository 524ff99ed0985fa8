// Package app wires Carillon together: it parses the command line, opens the
// store, builds the domain and wire layers and runs the HTTP server. main
// only calls Run; tests call it too.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/carillon-dev/carillon/internal/access"
	"github.com/carillon-dev/carillon/internal/api"
	"github.com/carillon-dev/carillon/internal/apimodel"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/metrics"
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

func parseLogLevel(level string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(level))
	return l, err
}

func newLogger(cfg *config, w io.Writer) (*slog.Logger, error) {
	level, err := parseLogLevel(cfg.logLevel)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func serve(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	model, err := apimodel.Load()
	if err != nil {
		return fmt.Errorf("loading the API model: %w", err)
	}
	var cert *certificate
	scheme := "http"
	if cfg.tlsCert != "" {
		if cert, err = loadCertificate(cfg.tlsCert, cfg.tlsKey); err != nil {
			return err
		}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	endpoint := scheme + "://" + ln.Addr().String()
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
	// One registry, handed to whatever has something to measure.
	registry := metrics.NewRegistry()
	storeMetrics := metrics.NewStore(registry)
	store, storeDesc, err := openStore(ctx, cfg, log, storeMetrics.ObserveCommit)
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
	metrics.RegisterLive(registry, func(ctx context.Context) (int, int, error) {
		m, a, _, err := svc.LiveCounts(ctx)
		return m, a, err
	}, 5*time.Second, log)
	keyring, err := access.NewKeyring(cfg.accessKeyID, cfg.secretAccessKey, store)
	if err != nil {
		return err
	}
	verifier := &sigv4.Verifier{Region: cfg.region, Service: "chime", Keys: keyring}
	if cfg.dev {
		verifier.Dev, verifier.DevRegions = true, apimodel.MediaRegions()
	}
	var limiter *ratelimit.Limiter
	if cfg.rateLimit != nil {
		limiter = ratelimit.New(*cfg.rateLimit, nil)
	}
	// One budget of failed authentications per address, for every entry
	// point: the API, its admin routes and signaling upgrades.
	failures := ratelimit.NewFailureGuard(cfg.authFailureLimit, nil)
	apiHandler := api.NewServer(api.Options{Model: model, Service: svc, Verifier: verifier, Keyring: keyring,
		Logger: log, Limiter: limiter, MaxInFlight: cfg.maxInFlight,
		AuthFailures: failures, Observer: metrics.NewAPI(registry), Dev: cfg.dev})
	mediaCtx, stopMedia := context.WithCancel(ctx)
	defer stopMedia()
	plane, err := startMediaPlane(mediaCtx, cfg, ln, svc, store, failures, registry, log)
	if err != nil {
		return err
	}
	defer plane.close()
	srv := newHTTPServer(plane.routes(apiHandler), log)
	if cert != nil {
		srv.TLSConfig = cert.tlsConfig()
	}

	var metricsLn net.Listener
	if cfg.metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer metricsLn.Close()
	}

	if cfg.devCredentials {
		log.Warn("CARILLON_ROOT_ACCESS_KEY_ID and CARILLON_ROOT_SECRET_ACCESS_KEY are unset: using the public development credentials; set them before exposing this server")
	}
	if cfg.dev {
		log.Warn("--dev: signatures are NOT verified and any access key is root; for local development only")
	}
	printBanner(stdout, cfg, endpoint, storeDesc, metricsLn)

	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go sweepExpired(sweepCtx, svc, log)
	if cert != nil {
		go reloadOnHangup(sweepCtx, cert, log)
	}

	served := make(chan error, 2)
	go func() {
		if cert != nil {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	var metricsSrv *http.Server
	if metricsLn != nil {
		metricsSrv = newHTTPServer(metrics.Handler(registry, log), log)
		go func() { served <- metricsSrv.Serve(metricsLn) }()
	}
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
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutdownCtx)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// newHTTPServer applies the limits of every listener (README, Security).
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// reloadOnHangup reloads the TLS certificate on each SIGHUP until ctx ends.
func reloadOnHangup(ctx context.Context, cert *certificate, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := cert.reload(); err != nil {
				log.Error("SIGHUP: keeping the previous TLS certificate", "err", err)
			} else {
				log.Info("SIGHUP: TLS certificate reloaded", "cert", cert.certFile)
			}
		}
	}
}

// store is what an engine provides: meetings and access keys.
type store interface {
	meetings.Store
	access.Store
}

func openStore(ctx context.Context, cfg *config, log *slog.Logger, onCommit func(int, time.Duration)) (store, string, error) {
	if cfg.databaseURL != "" {
		s, err := postgres.Open(ctx, postgres.Options{URL: cfg.databaseURL, Logger: log, OnCommit: onCommit})
		return s, "PostgreSQL (" + redactURL(cfg.databaseURL) + ")", err
	}
	if cfg.data == InMemory {
		s, err := sqlite.Open(ctx, sqlite.Options{InMemory: true, Logger: log, LiveAttendees: cfg.memoryAttendees, OnCommit: onCommit})
		return s, "in-memory (nothing is kept after exit)", err
	}
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: cfg.data, Logger: log, LiveAttendees: cfg.memoryAttendees, OnCommit: onCommit})
	return s, "embedded SQLite in " + cfg.data, err
}

// derivedKey derives a purpose-specific key from the root secret, so every
// node of a deployment agrees on it without more configuration.
func derivedKey(secret, purpose string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

func printBanner(w io.Writer, cfg *config, endpoint, storeDesc string, metricsLn net.Listener) {
	secret := "$CARILLON_ROOT_SECRET_ACCESS_KEY"
	if cfg.devCredentials {
		secret = DevSecretAccessKey
	}
	fmt.Fprintf(w, "Carillon is serving the Amazon Chime SDK Meetings API\n")
	fmt.Fprintf(w, "Endpoint: %s\nRegion:   %s\nStore:    %s\n", endpoint, cfg.region, storeDesc)
	if metricsLn != nil {
		fmt.Fprintf(w, "Metrics:  http://%s/metrics\n", metricsLn.Addr())
	}
	if cfg.dev {
		fmt.Fprintf(w, `
!!! DEVELOPMENT MODE (--dev): signatures are NOT verified; any access key and
!!! any documented region are accepted, and every caller is root.
`)
	}
	// AWS_REGION is read by the Go, JavaScript and Java SDKs and AWS CLI v2;
	// AWS_DEFAULT_REGION by boto3 and AWS CLI v1 (and v2, Go SDK too).
	fmt.Fprintf(w, `
Point an AWS client at it:
  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s
  aws chime-sdk-meetings create-meeting --endpoint-url %s --media-region %s --external-meeting-id demo --client-request-token demo-1
`, cfg.accessKeyID, secret, cfg.region, cfg.region, endpoint, cfg.region)
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
