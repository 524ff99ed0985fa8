// Package mixer makes the one audio stream each attendee hears.
//
// The Chime SDK client has one audio m-line and plays one remote audio
// track, so the server sends every receiver a single Opus stream (48 kHz
// mono, 20 ms frames) that carries everyone else: a mix-minus. Exclusion is
// by owner, not by session, so an attendee's "#content" session and main
// session never hear each other.
//
// How a tick works (every 20 ms; Run drives it, tests call Tick):
//
//  1. Each Sender's small jitter buffer (2 packets by default, 8 at most)
//     hands out the next packet by RTP sequence number. A missing packet is
//     concealed by the decoder (or restored from the next packet's in-band
//     FEC); late and duplicate packets are dropped; a sender that floods
//     only pushes its own oldest packets out; after 100 ms with nothing the
//     sender counts as silent and buffers afresh when it returns.
//  2. Speakers are chosen by level: the RFC 6464 ssrc-audio-level header
//     extension when the packets carry it (no decode needed), otherwise the
//     RMS of the decoded frame. Only senders louder than Config.SpeechLevel
//     (with a 500 ms hangover) and only the Config.MaxSpeakers loudest are
//     decoded and mixed, so a large meeting costs a few decodes per tick.
//  3. For each receiver the allowed speakers minus its owner are summed and
//     soft-clipped (linear to 0.8 of full scale, then a tanh knee towards
//     1.0, so loud overlapping voices bend instead of wrapping).
//  4. Each distinct mix is encoded once: receivers who are not speaking
//     share the full mix, each speaker gets its own mix-minus. The encoder
//     is chosen by who is left out, so the shared stream keeps one encoder
//     while speakers come and go (a receiver that starts or stops speaking
//     moves to another encoder, a short transition the browser's decoder
//     absorbs). A receiver with nobody to hear gets SilenceFrame, with no
//     encode.
//  5. Frames go to each Receiver's bounded queue and from there, on the
//     receiver's own goroutine, to its sink: a sink that never returns loses
//     its own frames and delays nobody.
//
// Routing (who may send, receive, hear whom) is read through an atomic
// pointer once per tick, so a meeting's routing table can be swapped whole
// while the mixer runs.
//
// ModeForward needs no codec: each receiver gets the unchanged Opus packets
// of the loudest other speaker (switching only for a 6 dB margin), renumbered
// into its own continuous stream. With two attendees this is exactly the
// other's stream; with more, simultaneous talkers are not all heard. It is
// the fallback should the pure-Go codec (github.com/thesyncim/gopus, behind
// the Codec interface) prove too slow or wrong in the field.
package mixer
