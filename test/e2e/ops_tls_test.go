package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmeetings"
	"github.com/coder/websocket"

	"github.com/carillon-dev/carillon/internal/signaling"
)

// testCA issues certificates for 127.0.0.1.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Carillon test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert, key, pool}
}

// issue writes a leaf certificate for 127.0.0.1 with this serial number to
// certFile and its key to keyFile.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Write then rename, as a certificate manager does.
	writeAtomic(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeAtomic(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// servedSerial makes a GET on client and returns the serial number of the
// certificate the connection presented and whether the connection was
// reused.
func servedSerial(t *testing.T, client *http.Client, url string) (serial int64, reused bool) {
	t.Helper()
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/carillon/health/live", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // read to the end, so the connection can be reused
	resp.Body.Close()
	if resp.TLS == nil || resp.StatusCode != 200 {
		t.Fatalf("GET over TLS: %d, TLS %v", resp.StatusCode, resp.TLS)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), reused
}

// waitLog waits until the process has logged substr n times.
func waitLog(t *testing.T, p *process, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(p.stderr.String(), substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", substr, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTLSWithSDKAndReloadOnSIGHUP: with --tls-cert/--tls-key the official
// SDK reaches the server over HTTPS with a test CA, and a meeting's
// signaling WebSocket upgrades over WSS with the same certificate; SIGHUP loads a new
// certificate for new connections while an established connection goes on
// with the old one; a bad file on SIGHUP keeps the previous certificate.
func TestTLSWithSDKAndReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca := newTestCA(t)
	ca.issue(t, 1001, certFile, keyFile)

	p := startProcess(t, []string{"--data", t.TempDir(), "--tls-cert", certFile, "--tls-key", keyFile})
	if !strings.HasPrefix(p.Endpoint, "https://") {
		t.Fatalf("endpoint %q, want https", p.Endpoint)
	}
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}, Timeout: 10 * time.Second}
	}
	sdk := chimesdkmeetings.New(chimesdkmeetings.Options{
		Region: testRegion, BaseEndpoint: aws.String(p.Endpoint), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(testKeyID, testSecret, ""),
		HTTPClient:  newClient(),
	})
	if _, err := sdk.CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("tls")}); err != nil {
		t.Fatalf("SDK over HTTPS: %v", err)
	}

	// WSS with the same files: the signaling URL of a meeting is wss:// and
	// the upgrade succeeds through the test CA.
	m, err := sdk.CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("wss")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := sdk.CreateAttendee(context.Background(), &chimesdkmeetings.CreateAttendeeInput{
		MeetingId: m.Meeting.MeetingId, ExternalUserId: aws.String("wss-user")})
	if err != nil {
		t.Fatal(err)
	}
	sigURL := *m.Meeting.MediaPlacement.SignalingUrl
	if !strings.HasPrefix(sigURL, "wss://") {
		t.Fatalf("SignalingUrl %q, want wss:// under TLS", sigURL)
	}
	ws, resp, err := websocket.Dial(context.Background(), sigURL, &websocket.DialOptions{
		HTTPClient: newClient(), Subprotocols: []string{signaling.Subprotocol, *a.Attendee.JoinToken}})
	if err != nil {
		t.Fatalf("WSS upgrade: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.TLS == nil {
		t.Errorf("WSS upgrade: %d, TLS %v", resp.StatusCode, resp.TLS)
	}
	ws.Close(websocket.StatusNormalClosure, "")

	kept := newClient()
	if serial, _ := servedSerial(t, kept, p.Endpoint); serial != 1001 {
		t.Fatalf("serial %d, want 1001", serial)
	}
	ca.issue(t, 1002, certFile, keyFile)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "TLS certificate reloaded", 1)
	if serial, reused := servedSerial(t, kept, p.Endpoint); serial != 1001 || !reused {
		t.Errorf("the established connection: serial %d reused %v, want 1001 on the same connection", serial, reused)
	}
	if serial, _ := servedSerial(t, newClient(), p.Endpoint); serial != 1002 {
		t.Errorf("a new connection after SIGHUP: serial %d, want 1002", serial)
	}

	writeAtomic(t, certFile, []byte("not a certificate"))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "keeping the previous TLS certificate", 1)
	if serial, _ := servedSerial(t, newClient(), p.Endpoint); serial != 1002 {
		t.Errorf("after a failed reload: serial %d, want 1002", serial)
	}
	if _, err := sdk.CreateMeeting(context.Background(), &chimesdkmeetings.CreateMeetingInput{
		MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String("tls-2")}); err != nil {
		t.Fatalf("SDK over HTTPS after the reloads: %v", err)
	}
}
