// The page Carillon's browser tests drive: the unmodified amazon-chime-sdk-js
// joins one meeting, and everything the SDK reports is recorded in
// window.carillon.events, which the Go test polls through Runtime.evaluate.
// One page is one meeting session.
import {
  ConsoleLogger,
  DefaultDeviceController,
  DefaultMeetingSession,
  LogLevel,
  MeetingSessionConfiguration,
  MeetingSessionStatusCode,
} from 'amazon-chime-sdk-js';

const events = [];
const t0 = performance.now();

function record(type, fields) {
  const e = Object.assign({ type, t: Math.round(performance.now() - t0) }, fields || {});
  events.push(e);
  return e;
}

// Count and describe every WebSocket the SDK opens, so a test can prove that
// a refused join is not retried. The subprotocols carry the join token: they
// are never recorded.
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const ws = new NativeWebSocket(url, protocols);
  const path = String(url).split('?')[0];
  record('websocket', { path });
  ws.addEventListener('open', () => record('websocketOpen', { path, protocol: ws.protocol === '_aws_wt_session' ? ws.protocol : '(other)' }));
  ws.addEventListener('close', (ev) => record('websocketClose', { path, code: ev.code, reason: ev.reason }));
  return ws;
};
window.WebSocket.prototype = NativeWebSocket.prototype;
Object.assign(window.WebSocket, {
  CONNECTING: NativeWebSocket.CONNECTING,
  OPEN: NativeWebSocket.OPEN,
  CLOSING: NativeWebSocket.CLOSING,
  CLOSED: NativeWebSocket.CLOSED,
});

let session = null;
let audioVideo = null;
let audioContext = null;
let contentCanvasTimer = null;
const tileElements = new Map(); // tileId -> <video>
const tileStates = new Map(); // tileId -> summary of the last VideoTileState
const volumeSubscribed = new Set();
const dataTopics = new Set();

function statusFields(status) {
  const code = status.statusCode();
  return {
    code,
    name: MeetingSessionStatusCode[code],
    terminal: status.isTerminal(),
    failure: status.isFailure(),
  };
}

function tileSummary(s) {
  return {
    tileId: s.tileId,
    localTile: s.localTile,
    isContent: s.isContent,
    active: s.active,
    paused: s.paused,
    boundAttendeeId: s.boundAttendeeId,
    boundExternalUserId: s.boundExternalUserId,
    streamId: s.streamId,
    groupId: s.groupId,
    trackId: s.boundVideoStream && s.boundVideoStream.getVideoTracks().length > 0
      ? s.boundVideoStream.getVideoTracks()[0].id : null,
  };
}

function subscribeVolume(attendeeId) {
  if (volumeSubscribed.has(attendeeId)) return;
  volumeSubscribed.add(attendeeId);
  audioVideo.realtimeSubscribeToVolumeIndicator(attendeeId, (id, volume, muted, signalStrength, externalUserId) => {
    record('volume', { attendeeId: id, volume, muted, signalStrength, externalUserId });
  });
}

const observer = {
  audioVideoDidStartConnecting(reconnecting) { record('audioVideoDidStartConnecting', { reconnecting }); },
  audioVideoDidStart() { record('audioVideoDidStart'); },
  audioVideoDidStop(status) { record('audioVideoDidStop', statusFields(status)); },
  videoTileDidUpdate(state) {
    if (state.tileId === null) return;
    const summary = tileSummary(state);
    tileStates.set(state.tileId, summary);
    record('videoTileDidUpdate', summary);
    // A tile decodes only with a sink: bind each one to its own element once.
    if (!tileElements.has(state.tileId) && (state.localTile || state.boundAttendeeId)) {
      const el = document.createElement('video');
      el.id = 'tile-' + state.tileId;
      el.muted = true;
      el.autoplay = true;
      el.playsInline = true;
      el.width = 160;
      el.height = 120;
      document.getElementById('tiles').appendChild(el);
      tileElements.set(state.tileId, el);
      audioVideo.bindVideoElement(state.tileId, el);
    }
  },
  videoTileWasRemoved(tileId) {
    const last = tileStates.get(tileId) || {};
    tileStates.delete(tileId);
    const el = tileElements.get(tileId);
    if (el) { el.remove(); tileElements.delete(tileId); }
    record('videoTileWasRemoved', { tileId, boundAttendeeId: last.boundAttendeeId || null });
  },
  videoAvailabilityDidChange(a) {
    record('videoAvailabilityDidChange', { canStartLocalVideo: a.canStartLocalVideo, remoteVideoAvailable: a.remoteVideoAvailable });
  },
  videoSendDidBecomeUnavailable() { record('videoSendDidBecomeUnavailable'); },
  remoteVideoSourcesDidChange(sources) {
    record('remoteVideoSourcesDidChange', { sources: sources.map((s) => ({ attendeeId: s.attendee.attendeeId, externalUserId: s.attendee.externalUserId })) });
  },
  connectionDidBecomePoor() { record('connectionDidBecomePoor'); },
};

const contentObserver = {
  contentShareDidStart() { record('contentShareDidStart'); },
  contentShareDidStop() { record('contentShareDidStop'); },
};

// join(joinInfo, options): joinInfo is {Meeting: {...}, Attendee: {...}} as
// CreateMeeting and CreateAttendee return them. options:
//   hz: a synthesized tone of that frequency as the microphone (0/absent: a
//       silent device, so that Chrome's beeping fake microphone never pollutes
//       an FFT); mic: true uses the fake microphone instead;
//   camera: start the fake camera (320x240 at 15 fps) once started;
//   attendeePresenceTimeoutMs, connectionTimeoutMs, reconnectTimeoutMs;
//   dataTopics: topics to subscribe to; logLevel: 'INFO', 'WARN', ...
async function join(joinInfo, options) {
  options = options || {};
  const logger = new ConsoleLogger('sdk', LogLevel[options.logLevel || 'WARN']);
  const deviceController = new DefaultDeviceController(logger);
  const config = new MeetingSessionConfiguration({ Meeting: joinInfo.Meeting }, { Attendee: joinInfo.Attendee });
  if (options.attendeePresenceTimeoutMs) config.attendeePresenceTimeoutMs = options.attendeePresenceTimeoutMs;
  if (options.connectionTimeoutMs) config.connectionTimeoutMs = options.connectionTimeoutMs;
  if (options.reconnectTimeoutMs) config.reconnectTimeoutMs = options.reconnectTimeoutMs;
  session = new DefaultMeetingSession(config, logger, deviceController);
  audioVideo = session.audioVideo;
  record('sessionCreated', { attendeeId: config.credentials.attendeeId });

  audioVideo.addObserver(observer);
  audioVideo.addContentShareObserver(contentObserver);
  audioVideo.realtimeSubscribeToAttendeeIdPresence((attendeeId, present, externalUserId, dropped) => {
    record('presence', { attendeeId, present, externalUserId, dropped: !!dropped });
    if (present) subscribeVolume(attendeeId);
  });
  audioVideo.realtimeSubscribeToMuteAndUnmuteLocalAudio((muted) => record('localMute', { muted }));
  audioVideo.realtimeSubscribeToLocalSignalStrengthChange((s) => record('localSignalStrength', { signalStrength: s }));
  audioVideo.realtimeSubscribeToFatalError((err) => record('fatalError', { message: String(err && err.message) }));
  for (const topic of options.dataTopics || []) subscribeData(topic);

  if (options.mic) {
    const inputs = await audioVideo.listAudioInputDevices();
    await audioVideo.startAudioInput(inputs[0].deviceId);
  } else if (options.hz) {
    await audioVideo.startAudioInput(DefaultDeviceController.synthesizeAudioDevice(options.hz));
  } else {
    await audioVideo.startAudioInput(DefaultDeviceController.createEmptyAudioDevice());
  }
  await audioVideo.bindAudioElement(document.getElementById('meeting-audio'));
  if (options.camera) {
    audioVideo.addObserver({ audioVideoDidStart() { startLocalVideo().catch((e) => record('error', { where: 'startLocalVideo', message: String(e) })); } });
  }
  record('startCalled');
  audioVideo.start();
}

async function startLocalVideo() {
  audioVideo.chooseVideoInputQuality(320, 240, 15);
  const cams = await audioVideo.listVideoInputDevices();
  if (cams.length === 0) throw new Error('no camera');
  await audioVideo.startVideoInput(cams[0].deviceId);
  const tileId = audioVideo.startLocalVideoTile();
  record('localVideoStarted', { tileId });
  return tileId;
}

async function stopLocalVideo() {
  audioVideo.stopLocalVideoTile();
  await audioVideo.stopVideoInput();
  record('localVideoStopped');
}

// A synthetic screen: a canvas that changes every frame, captured at 15 fps.
async function startContentShare() {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const g = canvas.getContext('2d');
  let n = 0;
  const draw = () => {
    n++;
    g.fillStyle = `hsl(${(n * 7) % 360}, 80%, 50%)`;
    g.fillRect(0, 0, 320, 240);
    g.fillStyle = '#fff';
    g.font = '32px sans-serif';
    g.fillText('carillon ' + n, 20, 130);
  };
  draw();
  contentCanvasTimer = setInterval(draw, 66);
  const stream = canvas.captureStream(15);
  await audioVideo.startContentShare(stream);
  record('contentShareRequested');
}

function stopContentShare() {
  audioVideo.stopContentShare();
  if (contentCanvasTimer) { clearInterval(contentCanvasTimer); contentCanvasTimer = null; }
}

function subscribeData(topic) {
  if (dataTopics.has(topic)) return;
  dataTopics.add(topic);
  audioVideo.realtimeSubscribeToReceiveDataMessage(topic, (m) => {
    record('dataMessage', {
      topic: m.topic,
      text: m.text(),
      senderAttendeeId: m.senderAttendeeId,
      senderExternalUserId: m.senderExternalUserId,
      throttled: m.throttled,
      timestampMs: m.timestampMs,
    });
  });
}

function sendData(topic, text, lifetimeMs) {
  audioVideo.realtimeSendDataMessage(topic, text, lifetimeMs);
}

// fft listens to the meeting audio element for durationMs and returns the
// strongest spectral peaks and the level near each requested frequency, in
// dBFS, averaged over the window (the method of the SDK's own integration
// tests, with an AnalyserNode).
async function fft(opts) {
  opts = opts || {};
  const durationMs = opts.durationMs || 1000;
  const freqs = opts.freqs || [];
  const el = document.getElementById('meeting-audio');
  const stream = el.srcObject;
  if (!stream || stream.getAudioTracks().length === 0) return { error: 'no meeting audio stream' };
  if (!audioContext) audioContext = new AudioContext();
  if (audioContext.state !== 'running') await audioContext.resume();
  const source = audioContext.createMediaStreamSource(stream);
  const analyser = audioContext.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  const bins = analyser.frequencyBinCount;
  const power = new Float64Array(bins);
  const frame = new Float32Array(bins);
  let frames = 0;
  const deadline = performance.now() + durationMs;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    analyser.getFloatFrequencyData(frame);
    for (let i = 0; i < bins; i++) power[i] += Math.pow(10, frame[i] / 10);
    frames++;
  }
  source.disconnect();
  const binHz = audioContext.sampleRate / analyser.fftSize;
  const db = Array.from(power, (p) => (frames > 0 && p > 0 ? 10 * Math.log10(p / frames) : -200));
  const peaks = [];
  for (let i = 2; i < bins - 2; i++) {
    if (db[i] > -90 && db[i] >= db[i - 1] && db[i] > db[i + 1] && db[i] >= db[i - 2] && db[i] > db[i + 2]) {
      peaks.push({ hz: Math.round(i * binHz * 10) / 10, db: Math.round(db[i] * 10) / 10 });
    }
  }
  peaks.sort((a, b) => b.db - a.db);
  const levels = {};
  for (const f of freqs) {
    const c = Math.round(f / binHz);
    let best = -200;
    for (let i = Math.max(0, c - 2); i <= Math.min(bins - 1, c + 2); i++) best = Math.max(best, db[i]);
    levels[f] = Math.round(best * 10) / 10;
  }
  const sorted = db.slice().sort((a, b) => a - b);
  return { binHz, frames, peaks: peaks.slice(0, 8), levels, medianDb: Math.round(sorted[sorted.length >> 1] * 10) / 10 };
}

// stats returns, from getRTCPeerConnectionStats, the inbound RTP counters and
// framesDecoded per remote tile (matched by track id).
async function stats() {
  const report = await audioVideo.getRTCPeerConnectionStats();
  const inbound = [];
  if (report) {
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        inbound.push({
          kind: s.kind,
          mid: s.mid,
          trackIdentifier: s.trackIdentifier,
          packetsReceived: s.packetsReceived,
          framesDecoded: s.framesDecoded,
          audioLevel: s.audioLevel,
        });
      }
    });
  }
  const tiles = [];
  for (const [tileId, el] of tileElements) {
    const st = audioVideo.getVideoTile(tileId);
    if (!st) continue;
    const s = tileSummary(st.state());
    const match = inbound.find((i) => i.kind === 'video' && s.trackId && i.trackIdentifier === s.trackId);
    tiles.push(Object.assign(s, {
      framesDecoded: match ? match.framesDecoded : 0,
      videoWidth: el.videoWidth,
      videoHeight: el.videoHeight,
    }));
  }
  return { inbound, tiles };
}

window.carillon = {
  events,
  since(n) { return events.slice(n); },
  join(joinInfo, options) {
    join(joinInfo, options).catch((e) => record('error', { where: 'join', message: String(e && e.stack || e) }));
  },
  stop() { audioVideo.stop(); },
  startLocalVideo,
  stopLocalVideo,
  startContentShare,
  stopContentShare,
  mute() { audioVideo.realtimeMuteLocalAudio(); },
  unmute() { return audioVideo.realtimeUnmuteLocalAudio(); },
  subscribeData,
  sendData,
  fft,
  stats,
};
record('pageReady');
