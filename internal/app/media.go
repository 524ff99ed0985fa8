package app

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/carillon-dev/carillon/internal/media"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/metrics"
	"github.com/carillon-dev/carillon/internal/ratelimit"
	"github.com/carillon-dev/carillon/internal/signaling"
)

// mediaConfig is the media plane's part of the serve command line.
type mediaConfig struct {
	udpPort     int // 0: the HTTP listener's port number
	publicIPs   []string
	idleTimeout time.Duration
	publicURL   string // "": --public-url
}

// mediaFlags declares the media plane's flags on fs; the returned function
// validates them after fs.Parse.
func mediaFlags(fs *flag.FlagSet, cfg *mediaConfig) func() error {
	fs.IntVar(&cfg.udpPort, "media-udp-port", 0,
		"the one UDP `port` of all media (WebRTC); 0: the same number as the --addr port (any free port when that is 0)")
	publicIP := fs.String("media-public-ip", "",
		"`address(es)` to advertise as media host candidates, comma-separated, for a server behind 1:1 NAT (empty: the interfaces' own addresses)")
	fs.StringVar(&cfg.publicURL, "media-public-url", "",
		"base `URL` at which clients reach this node's media plane (signaling); meetings created here are placed on this node (empty: --public-url). Give each node its own when several share a database")
	fs.DurationVar(&cfg.idleTimeout, "meeting-idle-timeout", 5*time.Minute,
		"a meeting with no attendee connected for this long ends by itself, as in AWS; 0 disables")
	return func() error {
		if cfg.udpPort < 0 || cfg.udpPort > 65535 {
			return fmt.Errorf("--media-udp-port: %d is not a port number", cfg.udpPort)
		}
		for _, ip := range strings.Split(*publicIP, ",") {
			if ip = strings.TrimSpace(ip); ip == "" {
				continue
			}
			if net.ParseIP(ip) == nil {
				return fmt.Errorf("--media-public-ip: %q is not an IP address", ip)
			}
			cfg.publicIPs = append(cfg.publicIPs, ip)
		}
		if cfg.idleTimeout < 0 {
			return fmt.Errorf("--meeting-idle-timeout: %s is not a duration >= 0", cfg.idleTimeout)
		}
		return nil
	}
}

// mediaPlane is the running media plane: WebRTC stack, hub and signaling.
type mediaPlane struct {
	webrtc *media.WebRTC
	hub    *media.Hub
	sig    *signaling.Server
}

// failures is the API's budget of failed authentications per address: a
// refused JoinToken spends from it too.
// reg receives the media plane's metrics.
func startMediaPlane(ctx context.Context, cfg *config, ln net.Listener, svc *meetings.Service, store any, failures *ratelimit.FailureGuard, reg prometheus.Registerer, log *slog.Logger) (*mediaPlane, error) {
	host, portStr, _ := net.SplitHostPort(ln.Addr().String())
	port := cfg.media.udpPort
	listenHost, addrPort, _ := net.SplitHostPort(cfg.addr)
	if port == 0 && addrPort != "0" {
		// One number to open in a firewall, for TCP and UDP. With a free
		// TCP port picked at random (tests), that number may be taken for
		// UDP, so the media port is picked freely too.
		port, _ = strconv.Atoi(portStr)
	}
	if listenHost == "" {
		host = ""
	}
	w, err := media.NewWebRTC(media.NetworkConfig{ListenHost: host, UDPPort: port, PublicIPs: cfg.media.publicIPs})
	if err != nil {
		return nil, err
	}
	hub := media.NewHub(ctx, media.Config{WebRTC: w, Domain: svc, IdleTimeout: cfg.media.idleTimeout, Log: log})
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: "media", Name: "rooms_live",
			Help: "Live meetings with a media room on this node (the node that created them)."}, func() float64 { return float64(hub.Stats().Rooms) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metrics.Namespace, Subsystem: "media", Name: "sessions_live",
			Help: "Signaling sessions connected to this node."}, func() float64 { return float64(hub.Stats().Sessions) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: metrics.Namespace, Subsystem: "media", Name: "forwarded_video_packets_total",
			Help: "Video RTP packets this node forwarded to subscribers."}, func() float64 { return float64(hub.Stats().ForwardedVideoPackets) }))
	svc.Watch(hub.OnEvent)
	if feed, ok := store.(meetings.ChangeFeed); ok {
		go func() {
			if err := feed.Listen(ctx, hub.OnFeedEvent); err != nil && ctx.Err() == nil {
				log.Error("the change feed stopped: changes made on other nodes no longer reach this node's sessions", "err", err)
			}
		}()
	}
	log.Info("media plane ready", "udp_port", w.UDPPort(), "idle_timeout", cfg.media.idleTimeout)
	return &mediaPlane{webrtc: w, hub: hub, sig: signaling.New(signaling.Config{Auth: svc, Hub: hub, Log: log, AuthFailures: failures})}, nil
}

// routes serves the MediaPlacement URLs beside the API. The paths are the
// ones meetings.mediaPlacement hands out.
func (p *mediaPlane) routes(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path := r.URL.Path; {
		case strings.HasPrefix(path, "/carillon/control/") && r.Method == http.MethodGet:
			r.SetPathValue("meeting", strings.TrimPrefix(path, "/carillon/control/"))
			p.sig.ServeHTTP(w, r)
		case path == "/carillon/v2/turn_sessions":
			p.sig.TurnControl(w, r)
		case path == "/carillon/v1/client-events":
			p.sig.ClientEvents(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

func (p *mediaPlane) close() { _ = p.webrtc.Close() }

// mediaBaseURL is the node's media base URL: --media-public-url, or the
// public URL.
func mediaBaseURL(cfg *config, public *url.URL) (*url.URL, error) {
	if cfg.media.publicURL == "" {
		return public, nil
	}
	u, err := url.Parse(cfg.media.publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("--media-public-url: %q is not an http(s) URL without a query", cfg.media.publicURL)
	}
	return u, nil
}
