package app

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"time"

	"github.com/carillon-dev/carillon/internal/ratelimit"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

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
	logFormat          string
	rateLimit          *ratelimit.Rate
	authFailureLimit   *ratelimit.Rate
	maxInFlight        int
	maxMeetings        int
	memoryAttendees    int
	metricsAddr        string
	tlsCert, tlsKey    string
	dev                bool
	accessKeyID        string
	secretAccessKey    string
	devCredentials     bool
	media              mediaConfig
}

var serveCommand = command{
	name:     "serve",
	synopsis: "[flags]",
	summary: "Runs the server. Every flag can also be set with CARILLON_<FLAG> (upper case,\n" +
		"dashes as underscores); a flag on the command line wins over the environment.",
	env: true,
}

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// parseServe parses the serve command line. It returns errHelpShown after
// printing --help to stdout, and a usageError for any bad flag or value.
func parseServe(args []string, getenv func(string) string, stdout io.Writer) (*config, error) {
	cfg := &config{}
	fs := newFlagSet(serveCommand.name)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen `address` (host:port; port 0 picks a free port)")
	fs.StringVar(&cfg.data, "data", "carillon-data", "embedded store `directory`, created when missing; \""+InMemory+"\" keeps everything in memory and loses it on exit")
	fs.StringVar(&cfg.databaseURL, "database-url", "", "PostgreSQL `URL` (postgres://...): use PostgreSQL instead of the embedded store, so several nodes can share one database")
	fs.StringVar(&cfg.region, "region", "us-east-1", "the `region` clients sign requests for")
	fs.StringVar(&cfg.accountID, "account-id", "111122223333", "12-digit account `id` used in meeting ARNs")
	fs.StringVar(&cfg.publicURL, "public-url", "", "base `URL` clients use to reach this server; MediaPlacement URLs derive from it (empty: http(s)://<addr>)")
	fs.IntVar(&cfg.maxAttendees, "max-attendees", 250, "attendee limit of meetings that set no MeetingFeatures.Attendee.MaxCount; may exceed 250 for large self-hosted meetings")
	fs.DurationVar(&cfg.meetingMaxDuration, "meeting-max-duration", 24*time.Hour, "a meeting ends this long after its creation")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "`level` of the log on stderr: debug, info (one access-log line per request), warn or error")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "`format` of the log: text (logfmt) or json (one object per line)")
	rateLimit := fs.String("rate-limit", "off", "per-access-key throttle: off, aws (10/s, burst 20, the AWS quota) or RPS/BURST")
	authFailureLimit := fs.String("auth-failure-limit", "20/100", "per-source-address budget of requests that fail authentication, as RPS/BURST, or off; beyond it an address is refused (429) before its requests are read")
	fs.IntVar(&cfg.maxInFlight, "max-in-flight", 1024, "API requests served at once; beyond, 503 with Retry-After (0: no cap)")
	fs.IntVar(&cfg.maxMeetings, "max-meetings", 0, "live meetings per account, LimitExceededException beyond (0: no cap; AWS's default quota is 250)")
	fs.IntVar(&cfg.memoryAttendees, "memory-attendees", sqlite.DefaultLiveAttendees, "embedded store: attendees kept in memory with their meetings, so that reads and batch updates skip SQL (about 520 bytes of RSS each; 0: none)")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "", "listen `address` of the Prometheus /metrics endpoint, unauthenticated, on its own listener (empty: off)")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "PEM certificate chain `file`: serve HTTPS (with --tls-key); reloaded on SIGHUP")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "PEM private key `file` of --tls-cert")
	fs.BoolVar(&cfg.dev, "dev", false, "development mode: any access key and any documented region are accepted and signatures are not verified (only their shape); refused unless --addr is a loopback address")
	checkMedia := mediaFlags(fs, &cfg.media)

	if err := applyEnv(fs, getenv); err != nil {
		return nil, err
	}
	if err := parseFlags(serveCommand, fs, args, stdout); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageErrorf("carillon serve: unexpected argument %q (see 'carillon serve --help')", fs.Arg(0))
	}
	if err := cfg.check(*rateLimit, *authFailureLimit); err != nil {
		return nil, &usageError{"carillon serve: " + err.Error()}
	}
	if err := checkMedia(); err != nil {
		return nil, &usageError{"carillon serve: " + err.Error()}
	}
	cfg.accessKeyID = getenv("CARILLON_ROOT_ACCESS_KEY_ID")
	cfg.secretAccessKey = getenv("CARILLON_ROOT_SECRET_ACCESS_KEY")
	switch {
	case cfg.accessKeyID == "" && cfg.secretAccessKey == "":
		cfg.accessKeyID, cfg.secretAccessKey, cfg.devCredentials = DevAccessKeyID, DevSecretAccessKey, true
	case cfg.accessKeyID == "" || cfg.secretAccessKey == "":
		return nil, usageErrorf("carillon serve: set both CARILLON_ROOT_ACCESS_KEY_ID and CARILLON_ROOT_SECRET_ACCESS_KEY, or neither")
	}
	return cfg, nil
}

// check validates what the flag types alone do not.
func (cfg *config) check(rateLimit, authFailureLimit string) error {
	for _, f := range []struct {
		name  string
		value int
		min   int
	}{
		{"max-attendees", cfg.maxAttendees, 1},
		{"max-in-flight", cfg.maxInFlight, 0},
		{"max-meetings", cfg.maxMeetings, 0},
		{"memory-attendees", cfg.memoryAttendees, 0},
	} {
		if f.value < f.min {
			return fmt.Errorf("--%s: %d is not an integer >= %d", f.name, f.value, f.min)
		}
	}
	if cfg.meetingMaxDuration <= 0 {
		return fmt.Errorf("--meeting-max-duration: %s is not a positive duration", cfg.meetingMaxDuration)
	}
	var err error
	if cfg.rateLimit, err = ratelimit.ParseRate(rateLimit); err != nil {
		return fmt.Errorf("--rate-limit: %w", err)
	}
	if authFailureLimit == "aws" {
		return errors.New("--auth-failure-limit: want off or RPS/BURST")
	}
	if cfg.authFailureLimit, err = ratelimit.ParseRate(authFailureLimit); err != nil {
		return fmt.Errorf("--auth-failure-limit: %w", err)
	}
	if !accountIDPattern.MatchString(cfg.accountID) {
		return fmt.Errorf("--account-id: %q is not 12 digits", cfg.accountID)
	}
	if cfg.region == "" {
		return errors.New("--region must not be empty")
	}
	if _, err := parseLogLevel(cfg.logLevel); err != nil {
		return fmt.Errorf("--log-level: %q is not debug, info, warn or error", cfg.logLevel)
	}
	if cfg.logFormat != "text" && cfg.logFormat != "json" {
		return fmt.Errorf("--log-format: %q is not text or json", cfg.logFormat)
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if cfg.dev && !isLoopback(cfg.addr) {
		return fmt.Errorf("--dev accepts any credentials, so it only listens on a loopback address (127.0.0.1, ::1 or localhost), not %q", cfg.addr)
	}
	return nil
}

// isLoopback reports whether a listen address can only be reached from this
// machine. An empty host ("":8080) listens everywhere.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
