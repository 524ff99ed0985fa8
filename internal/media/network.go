package media

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// NetworkConfig says where media flows.
type NetworkConfig struct {
	// ListenHost is the address the UDP media port binds: an IP, or "" (or
	// an unspecified address) for every interface.
	ListenHost string
	// UDPPort is the one UDP port of every session's media (ICE UDP mux).
	// Zero picks a free port (tests).
	UDPPort int
	// PublicIPs, when set, replace the gathered host candidates' addresses
	// (a server behind 1:1 NAT). The Chime SDK drops server-reflexive
	// candidates from answers, so a public address must be a host candidate.
	PublicIPs []string
}

// WebRTC is the process-wide WebRTC stack: one pion API (codecs,
// interceptors, the UDP mux) shared by every session.
type WebRTC struct {
	api   *webrtc.API
	mux   ice.UDPMux
	ports []int

	certMu sync.Mutex
	cert   *webrtc.Certificate
}

// certificate is the DTLS certificate every peer connection presents:
// generating a key per join costs more than the rest of the answer. It is
// replaced a week before it expires.
func (w *WebRTC) certificate() (webrtc.Certificate, error) {
	w.certMu.Lock()
	defer w.certMu.Unlock()
	if w.cert == nil || time.Until(w.cert.Expires()) < 7*24*time.Hour {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return webrtc.Certificate{}, err
		}
		cert, err := webrtc.GenerateCertificate(key)
		if err != nil {
			return webrtc.Certificate{}, err
		}
		w.cert = cert
	}
	return *w.cert, nil
}

// newPeerConnection returns a peer connection with the shared certificate.
func (w *WebRTC) newPeerConnection() (*webrtc.PeerConnection, error) {
	cert, err := w.certificate()
	if err != nil {
		return nil, err
	}
	return w.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
}

// Codecs Carillon negotiates: Opus for audio and VP8 for video, so that any
// publisher can be forwarded to any receiver without transcoding.
var (
	opusCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1"}
	vp8Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
			{Type: "nack"}, {Type: "nack", Parameter: "pli"}}}
)

const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// NewWebRTC binds the media port and builds the pion API.
func NewWebRTC(cfg NetworkConfig) (*WebRTC, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8Codec, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, err
	}

	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	// Browsers' candidates are plain addresses here (the SDK's answer
	// handling needs no mDNS), and an mDNS socket per peer costs a join.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Chrome checks consent every few seconds; a peer silent for 10 s is gone.
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	if len(cfg.PublicIPs) > 0 {
		//lint:ignore SA1019 the replacement (SetICEAddressRewriteRules) is not tested here yet
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	w := &WebRTC{}
	if ip, err := netip.ParseAddr(cfg.ListenHost); err == nil && !ip.IsUnspecified() {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip.AsSlice(), Port: cfg.UDPPort})
		if err != nil {
			return nil, fmt.Errorf("media: binding UDP %s:%d: %w", ip, cfg.UDPPort, err)
		}
		w.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn})
		w.ports = []int{conn.LocalAddr().(*net.UDPAddr).Port}
	} else {
		mux, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, ice.UDPMuxFromPortWithLoopback(),
			ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4))
		if err != nil {
			return nil, fmt.Errorf("media: binding UDP port %d: %w", cfg.UDPPort, err)
		}
		w.mux = mux
		for _, a := range mux.GetListenAddresses() {
			w.ports = append(w.ports, a.(*net.UDPAddr).Port)
		}
	}
	se.SetICEUDPMux(w.mux)
	w.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return w, nil
}

// UDPPort is the bound media port (the first, when several interfaces were
// bound with a free port each).
func (w *WebRTC) UDPPort() int {
	if len(w.ports) == 0 {
		return 0
	}
	return w.ports[0]
}

// Close releases the media port.
func (w *WebRTC) Close() error { return w.mux.Close() }
