package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/carillon-dev/carillon/internal/signaling/chimeclient"
)

// The ceiling takes the chimeclient flow Carillon takes: a camera published
// with SUBSCRIBE reaches a subscriber on its v_<mid> track.
func TestCeilingForwardsACamera(t *testing.T) {
	api, mux, err := newAPI(0)
	if err != nil {
		t.Fatal(err)
	}
	defer mux.Close()
	srv := httptest.NewServer(&forwarder{api: api})
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
	ctx := context.Background()
	rtc := chimeclient.NewAPI()
	join := func(token string, o chimeclient.SubscribeOptions) *chimeclient.Client {
		c, err := chimeclient.Dial(ctx, url, token)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		if _, _, err := c.Join(ctx, 1, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SubscribeWith(ctx, rtc, 10*time.Second, o); err != nil {
			t.Fatal(err)
		}
		return c
	}
	cam := chimeclient.NewCamera()
	join("pub", chimeclient.SubscribeOptions{Camera: cam})
	sub := join("sub", chimeclient.SubscribeOptions{Receive: []uint32{sourceStreamID}})
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true}, Payload: []byte{0x10, 0, 0, 0x9d, 0x01, 0x2a}}
	deadline := time.Now().Add(15 * time.Second)
	for sub.Received("v_2") < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the subscriber received %d packets on v_2, want 20", sub.Received("v_2"))
		}
		p.SequenceNumber++
		_ = cam.WriteRTP(p)
		time.Sleep(10 * time.Millisecond)
	}
}
