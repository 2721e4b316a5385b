// Greenroom guest page: name, camera and mic, then the show over WebRTC.
//
// Signaling (see the Go package studio/signal): we send "join", get
// "welcome", send one offer with our camera and mic; after that only the
// studio offers (when people come on or leave the stage) and we answer. We
// never offer again, so offers can't collide; device changes use
// replaceTrack on the senders we already have. The screen share too: the
// offer has a third, empty video sender for it, named in the offer's
// "sources" (by mid) so the studio can tell it from the camera; sharing
// puts getDisplayMedia's track on it and says "share". "muted" from the
// studio says the host muted (or unmuted) us: the page says so and
// silences the mic it sends until the host unmutes us. The Mic and Camera
// buttons (Ctrl/Cmd+D, Ctrl/Cmd+E) turn ours off and on: a disabled track
// sends silence or black, and "devices" tells the studio, which shows our
// initials instead of a black picture. The host's mute wins: we can turn
// the mic off under it, not on. The setup screen has the same two buttons
// on the preview: a guest can join with either already off, and "devices"
// (sent on every "welcome") tells the studio before anyone sees them.
// The roster says whose mic is off (micOff) or muted by the host (muted):
// their tiles get a struck-through mic.
//
// Sound at the source (issue #12): the mic is asked for echo
// cancellation, noise suppression and auto gain by name. Music mode (the
// guest's switch, or the host's: "music" either way) turns the three off
// and sends stereo Opus at 128 kb/s: see MUSIC.
//
// Media that never connects (issue #16): an attempt is a session (one
// RTCPeerConnection); it fails when the browser says "failed", when the
// studio's "media" says failed (it gives up waiting after 10 s and says
// why: a port to open, a TURN server to set up), or when it is still not
// connected twice that wait (its "welcome" says how long: 20 s) after
// the studio's answer (a browser without a single candidate pair can sit
// in "checking" for good). After
// MEDIA_FAILS attempts in a row that never connected, the page says in
// words that it can't reach the studio and why, instead of
// "Reconnecting…" forever, and keeps trying in the background.
//
// A path that breaks after it worked (Wi-Fi drops; the guest moves to a
// hotspot) is mended in place (issue #9): the page sends "restart" and the
// studio offers an ICE restart (it makes every offer after our first), so
// the guest stays in the show, on the same tile, with the same tracks. It
// asks when the connection goes "disconnected" or "failed" and again when
// the network comes back ("online", or the connection type changing),
// since a restart made offline finds no path. A new network usually takes
// the signaling socket with it: then the page opens another and joins
// with "keep", keeping its RTCPeerConnection; the studio carries the
// session on over it ("welcome" with keep) and offers the ICE restart.
// A new public address under a path that still works (the guest's router
// renumbered: the studio follows its checks there by itself) takes the
// socket too, silently: the page sends "restart" when it sees its address
// change (watchMedia), which finds a dead socket out at once.
// Only if the studio can't, or the media isn't back RESTART_WAIT after
// the first ask, does the page rejoin from scratch.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);

  // Chromium starts a new video sender at ~300 kb/s and climbs to 720p only
  // after 15-20 s; these fmtp hints on the SDP it applies make it start at
  // 720p (issue #4).
  const VP8_HINTS = "x-google-start-bitrate=1500;x-google-min-bitrate=800";
  // Reconnect attempts before giving up: with the backoff below, about a
  // minute — longer than the studio holds a lost guest's place by default
  // (10 s; the host may set up to 10 min).
  const MAX_RETRIES = 30;
  // Attempts while the studio is away (it closed: a quit, a restart, an
  // update): 10 minutes at MAX_RETRY_DELAY. It keeps its link, so the
  // page joins again by itself when it is back (issue #11).
  const AWAY_RETRIES = 300;
  // The close code of a full studio (signal.CloseStudioFull).
  const CLOSE_STUDIO_FULL = 4001;
  // The longest wait between reconnect attempts: the studio holds our
  // place for 10 s by default, counted from when it noticed (at once, or
  // 6 s after our last answer), so several attempts must fall within it
  // once the network is back (a cap of 10 s let a page back after 8 s
  // first try again at 15.5 s).
  const MAX_RETRY_DELAY = 2000;
  // Failed media attempts in a row before the page says it can't reach the
  // studio: one may be bad luck, two is a network that won't let us in.
  const MEDIA_FAILS = 2;
  // How long an attempt may stay unconnected after the studio's answer
  // before the page starts another, as a multiple of the studio's wait
  // for our media ("welcome"'s mediaWait, 10 s): 20 s, longer than the
  // studio's verdict and a browser's own ICE timeout, so a slow TURN
  // relay gets its chance.
  const ATTEMPT_WAITS = 2;
  const MEDIA_WAIT = 10000; // a studio that doesn't say
  // How long an ICE restart may take before the page rejoins instead.
  const RESTART_WAIT = 10000;
  // How long nothing may come from the studio over a "connected" path
  // before the page asks for an ICE restart (see watchMedia).
  const STALL_MS = 3000;
  // How long the page may hear nothing over its signaling socket (the
  // studio says "alive" every 2 s) before it takes the socket for dead
  // and comes back over a new one: a network change can leave the old one
  // open on our side only, while the media goes on over ICE (issue #10).
  const SIGNAL_SILENT_MS = 6000;
  const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
  // The guest's sound at the source (issue #12): a voice gets the
  // browser's echo cancellation (the others' voices from the guest's
  // speakers stay out of the show), noise suppression and auto gain, asked
  // for by name rather than left to each browser's defaults.
  const VOICE = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  // Music mode, for a guest who plays an instrument: all three off (they
  // cut a held note, pump the level, take a violin for noise), in stereo
  // where the mic has it, and Opus at 128 kb/s stereo instead of the
  // ~32 kb/s mono a voice gets. The Opus parameters are the studio's to
  // receive (RFC 7587 §7: stereo, sprop-stereo, maxaveragebitrate in the
  // fmtp of the description the browser sends to): the page sets them on
  // every description it gets from the studio (opusParams), and the
  // studio offers a renegotiation when the mode changes; the sender's
  // maxBitrate lets the encoder use it.
  const MUSIC = { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: { ideal: 2 } };
  const MUSIC_OPUS = ["stereo=1", "sprop-stereo=1", "maxaveragebitrate=128000"];
  const MUSIC_BPS = 128000;
  // While the host has the guests' local recording on, the camera is
  // opened at up to 1080p for the recorder (issue #11); the call's layers
  // are scaled down from it to the same sizes as from 720p (layersFor).
  // Opened once at 720p, a camera can't give a second track or a clone
  // more (Chromium keeps the first format), so the page opens it again.
  const VIDEO_HI = { width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 30 } };
  const CALL_HEIGHT = 720;
  // The camera goes out in three layers (simulcast, issue #10): full, half
  // and quarter size. The studio sends each other guest the largest their
  // downlink takes, and decodes for the program the smallest that fills
  // our tile. A browser that can't (or a studio whose answer refuses
  // a=simulcast) sends one layer; Chromium also sends fewer for a small
  // camera (two under 960x540, one under 480x270).
  const LAYERS = [
    { rid: "h", scaleResolutionDownBy: 1 },
    { rid: "m", scaleResolutionDownBy: 2 },
    { rid: "l", scaleResolutionDownBy: 4 },
  ];
  // The mic-off mark on a tile: drawn here, no icon font to load.
  const MIC_OFF_SVG = '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" fill="none" ' +
    'stroke="currentColor" stroke-width="2" stroke-linecap="round"><rect x="9" y="3" width="6" height="11" rx="3"/>' +
    '<path d="M5 11a7 7 0 0 0 14 0M12 18v3"/><path d="M4 3l16 18"/></svg>';

  const ui = {
    setup: $("setup"), show: $("show"), ended: $("ended"),
    preview: $("preview"), noCamera: $("no-camera"), level: $("level"),
    note: $("media-note"), camera: $("camera"), mic: $("mic"), name: $("name"),
    join: $("join"), status: $("status"), leave: $("leave"), unmute: $("unmute"), share: $("share"),
    music: $("music-toggle"), musicNote: $("music-note"),
    // Mic and Camera: [the show's header, the setup screen's preview].
    micToggles: [$("mic-toggle"), $("setup-mic-toggle")],
    cameraToggles: [$("camera-toggle"), $("setup-camera-toggle")],
    selfOff: $("self-off"), previewOff: $("preview-off"),
    greenroomNote: $("greenroom-note"), mutedNote: $("muted-note"), emptyStage: $("empty-stage"),
    unreachable: $("unreachable"), unreachableWhy: $("unreachable-why"),
    weak: $("weak"), weakWhy: $("weak-why"),
    stage: $("stage"), selfview: $("selfview"), selfName: $("self-name"),
    endedTitle: $("ended-title"), endedReason: $("ended-reason"), rejoin: $("rejoin"),
  };

  // Everything the page knows, for the code below and for test automation
  // (window.greenroom).
  const state = {
    stream: null,       // local MediaStream (may lack video or audio)
    ws: null, pc: null,
    id: "", place: "", roster: [],
    hostMuted: false,   // the host muted us
    micOff: false,      // we turned our mic off (kept across reconnects)
    cameraOff: false,   // we turned our camera off
    music: false,       // music mode (kept across reconnects)
    musicByHost: false, // the host switched it last
    micSwitch: null,    // the mic's switch to the mode's processing under way
    hiRes: false,       // the camera at up to 1080p: local recording was asked for
    reopening: null,    // the camera being opened again at 1080p
    resume: "",         // key from "welcome" to take our place back after a blip
    joined: false,      // the user asked to be in the show
    heard: 0,           // when the studio last said something over signaling
    ended: false,       // the studio said bye: don't reconnect
    away: false,        // the studio closed and may come back (studioAway)
    retry: 0, retryTimer: 0,
    // Media attempts (issue #16): in a row that never connected; whether
    // the current one connected, or was counted as failed; the studio's
    // last word on why; the current attempt's timeout.
    mediaFails: 0, attemptConnected: false, attemptFailed: false,
    mediaProblem: "", attemptTimer: 0, attemptTimeout: ATTEMPT_WAITS * MEDIA_WAIT,
    restartTimer: 0,    // set while an ICE restart is under way
    tiles: new Map(),   // stream ID (participant ID, or ID + "/screen") → {el, video, stream}
    view: { sent: "", at: 0, timer: 0 }, // the tile sizes last told the studio ("view")
    pausedLayers: [],   // our camera's layers (rids) the studio said nobody gets ("layers")
    screenTr: null,     // the transceiver kept for sharing our screen
    screen: null,       // the shared screen's track, while sharing
    pendingCandidates: [],
    errors: [],
    // The studio's rating of our connection ("health": green, amber,
    // red, and why), since when at that level; weak: the banner says so.
    health: { level: "", reason: "", since: 0 },
    weak: false, weakTimer: 0,
  };
  window.greenroom = state;

  // ---- camera, mic, meter -------------------------------------------------

  async function getMedia() {
    const camId = ui.camera.value;
    const audio = audioConstraints();
    const want = state.hiRes ? VIDEO_HI : VIDEO;
    const video = camId ? { ...want, deviceId: { exact: camId } } : want;
    stopStream();
    let note = "", warn = false;
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({ audio, video });
    } catch (err) {
      console.warn("camera+mic:", err);
      try {
        state.stream = await navigator.mediaDevices.getUserMedia({ audio });
        note = "No camera available (" + err.name + ") — you'll join with audio only.";
        warn = true;
      } catch (err2) {
        console.warn("mic:", err2);
        state.stream = new MediaStream();
        note = "No camera or microphone available (" + err2.name +
          ") — you can still join to watch, but nobody will see or hear you.";
        warn = true;
      }
    }
    ui.note.textContent = note;
    ui.note.classList.toggle("warn", warn);
    const hasVideo = state.stream.getVideoTracks().length > 0;
    ui.preview.srcObject = hasVideo ? state.stream : null;
    ui.selfview.srcObject = hasVideo ? state.stream : null;
    ui.noCamera.hidden = hasVideo;
    startMeter();
    await listDevices();
    replaceSentTracks();
    applyDevices();
  }

  // audioConstraints is what the page asks of the mic: the one picked,
  // processed for a voice, or not at all in music mode.
  function audioConstraints() {
    const micId = ui.mic.value;
    const c = { ...(state.music ? MUSIC : VOICE) };
    if (micId) c.deviceId = { exact: micId };
    return c;
  }

  // setMusic switches music mode (the guest's own switch, or the host's
  // word: byHost): the mic's processing at once, the Opus parameters
  // with the studio's next offer, which the studio makes when it hears
  // of it. state.music is set before anything is awaited: that offer
  // may already be on its way.
  function setMusic(on, byHost) {
    state.musicByHost = byHost;
    if (state.music !== on) {
      state.music = on;
      if (!byHost) send({ type: "music", music: on });
      keepPlace();
      state.micSwitch = (state.micSwitch || Promise.resolve()).then(switchMic);
    }
    showMusic();
  }

  function showMusic() {
    const b = ui.music;
    b.setAttribute("aria-pressed", String(state.music));
    b.textContent = state.music ? "Music mode on" : "Music mode";
    b.title = state.music ? "Back to a voice: echo cancellation, noise suppression and auto gain on"
      : "For an instrument: your sound as it is, in stereo at 128 kb/s, without echo cancellation, noise suppression or auto gain";
    const n = ui.musicNote;
    n.hidden = !state.music && !state.musicByHost;
    n.textContent = state.music
      ? (state.musicByHost ? "The host turned on music mode for you: " : "Music mode: ") +
        "your sound goes out as it is, in stereo — no echo cancellation, noise suppression or auto gain. Wear headphones, or the others hear themselves."
      : "The host turned off music mode for you: your mic is set for your voice again.";
  }

  // switchMic gives the mic the processing of the mode we are in: in
  // place where the browser can (applyConstraints), else a new track of
  // the same mic, put on our sender without renegotiating (Chromium keeps
  // a track's processing as it was opened).
  async function switchMic() {
    const old = state.stream && state.stream.getAudioTracks()[0];
    if (!old) return;
    const want = state.music ? MUSIC : VOICE;
    const fits = (t) => Object.keys(VOICE).every((k) => t.getSettings()[k] === want[k]);
    try {
      await old.applyConstraints(want);
    } catch (err) {
      console.warn("mic processing in place:", err);
    }
    if (fits(old)) return;
    let track;
    try {
      track = (await navigator.mediaDevices.getUserMedia({ audio: audioConstraints() })).getAudioTracks()[0];
    } catch (err) {
      console.warn("mic for music mode:", err);
      state.errors.push("music mode: " + err);
      return;
    }
    state.stream.removeTrack(old);
    old.stop();
    state.stream.addTrack(track);
    startMeter();
    replaceSentTracks();
    applyDevices();
  }

  // applyDevices enables the mic we send unless we or the host turned it
  // off, and the camera unless we did (a disabled track sends silence or
  // black), and shows it on the buttons (both pairs) and the notes.
  function applyDevices() {
    ui.mutedNote.hidden = !state.hostMuted;
    const audio = state.stream ? state.stream.getAudioTracks() : [];
    const video = state.stream ? state.stream.getVideoTracks() : [];
    for (const t of audio) t.enabled = !state.hostMuted && !state.micOff;
    for (const t of video) t.enabled = !state.cameraOff;
    const key = /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl+";
    const show = (buttons, on, text, title, noDevice, held) => {
      for (const b of buttons) {
        b.textContent = text;
        b.title = noDevice || title;
        b.disabled = !!noDevice;
        b.setAttribute("aria-pressed", String(on));
        b.classList.toggle("off", !on && !held);
        b.classList.toggle("held", !!held);
      }
    };
    const micOn = !state.micOff && !state.hostMuted;
    show(ui.micToggles, micOn,
      state.micOff ? "Mic off" : state.hostMuted ? "Muted by host" : "Mic on",
      state.micOff ? "Turn your microphone on (" + key + "D)" + (state.hostMuted ? " — the host has muted you" : "")
        : state.hostMuted ? "The host muted you; only the host can unmute you. Turn your microphone off (" + key + "D)"
        : "Turn your microphone off (" + key + "D)",
      audio.length ? "" : "No microphone", state.hostMuted);
    show(ui.cameraToggles, !state.cameraOff, state.cameraOff ? "Camera off" : "Camera on",
      (state.cameraOff ? "Turn your camera on (" : "Turn your camera off (") + key + "E)",
      video.length ? "" : "No camera");
    ui.selfOff.hidden = !state.cameraOff || !video.length;
    ui.previewOff.hidden = ui.selfOff.hidden;
  }

  // toggleMic and toggleCamera turn ours off or on and tell the studio.
  // Under the host's mute the mic can be turned off but not back on.
  function toggleMic() {
    state.micOff = !state.micOff;
    applyDevices();
    sendDevices();
    keepPlace();
  }

  function toggleCamera() {
    state.cameraOff = !state.cameraOff;
    applyDevices();
    sendDevices();
    keepPlace();
  }

  // ---- the tab's place in the show ----------------------------------------
  //
  // A reloaded tab (or one the browser restores) takes its guest's place
  // back, on stage or in the green room, as a page back after a blip
  // does: the ID and resume key from "welcome" are kept in
  // sessionStorage (the tab's own: it outlives a reload, and another tab
  // of the same link is another guest), with the name, whether the mic
  // and camera were off, and whether the camera was opened at 1080p for
  // the local recording (a reloaded page opens it so at once, not again
  // at its first "record"). The page says nothing to the studio as it goes:
  // the studio sees its socket close and holds the place for its grace
  // (the host sees the countdown), so a tab closed for good leaves when
  // that runs out. Leave, and every end of the show for this page, forget
  // it.
  const PLACE_KEY = "greenroom.place:" + location.pathname;

  function keepPlace() {
    try {
      if (!state.joined || !state.resume) { sessionStorage.removeItem(PLACE_KEY); return; }
      sessionStorage.setItem(PLACE_KEY, JSON.stringify({
        id: state.id, resume: state.resume, name: ui.name.value.trim(),
        micOff: state.micOff, cameraOff: state.cameraOff, music: state.music, hiRes: state.hiRes,
      }));
    } catch { /* storage off */ }
  }

  function keptPlace() {
    try {
      const p = JSON.parse(sessionStorage.getItem(PLACE_KEY) || "null");
      return p && p.id && p.resume && p.name ? p : null;
    } catch { return null; }
  }

  function sendDevices() {
    send({ type: "devices", mic: !state.micOff, camera: !state.cameraOff });
  }

  function stopStream() {
    if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
    state.stream = null;
  }

  async function listDevices() {
    let devices = [];
    try { devices = await navigator.mediaDevices.enumerateDevices(); } catch { return; }
    const fill = (select, kind, current) => {
      const keep = select.value || current;
      select.replaceChildren();
      for (const d of devices.filter((d) => d.kind === kind)) {
        const o = document.createElement("option");
        o.value = d.deviceId;
        o.textContent = d.label || kind;
        select.append(o);
      }
      if (keep) select.value = keep;
    };
    const track = (kind) => state.stream && state.stream.getTracks().find((t) => t.kind === kind);
    const settingsId = (t) => (t && t.getSettings().deviceId) || "";
    fill(ui.camera, "videoinput", settingsId(track("video")));
    fill(ui.mic, "audioinput", settingsId(track("audio")));
  }

  let meter = null;
  function startMeter() {
    if (meter) { meter.ctx.close(); meter = null; }
    ui.level.style.width = "0";
    const track = state.stream.getAudioTracks()[0];
    if (!track || !window.AudioContext) return;
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    meter = { ctx };
    const draw = () => {
      if (!meter || meter.ctx !== ctx) return;
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const db = 20 * Math.log10(Math.sqrt(sum / buf.length) + 1e-9);
      ui.level.style.width = Math.max(0, Math.min(100, (db + 60) * 100 / 60)) + "%";
      requestAnimationFrame(draw);
    };
    draw();
  }

  // ---- connection ---------------------------------------------------------

  function wsURL() {
    const u = new URL(location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.search = "";
    u.hash = "";
    u.pathname = u.pathname.replace(/\/$/, "") + "/ws";
    return u.href;
  }

  function send(m) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(m));
  }

  // connect opens the signaling socket and joins: afresh, or (keep) to
  // carry on with the RTCPeerConnection we have.
  function connect(keep) {
    clearTimeout(state.retryTimer);
    if (keep) closeSocket();
    else closeConnection();
    setStatus(trying(state.retry ? "Reconnecting…" : "Connecting…"));
    const ws = new WebSocket(wsURL());
    state.ws = ws;
    state.heard = Date.now();
    let opened = false;
    ws.onopen = () => {
      opened = true;
      const m = { type: "join", name: ui.name.value.trim() };
      if (state.resume) { m.id = state.id; m.resume = state.resume; }
      if (keep && state.resume) m.keep = true;
      send(m);
    };
    ws.onmessage = (e) => {
      if (ws !== state.ws) return;
      state.heard = Date.now();
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      onMessage(m).catch((err) => {
        console.error(m.type, err);
        state.errors.push(m.type + ": " + err);
        reconnect(); // a broken negotiation is best restarted from scratch
      });
    };
    ws.onclose = (e) => {
      if (ws !== state.ws) return;
      // 1008 (policy violation): the studio refused us for good, e.g. a
      // link the host replaced; retrying won't help, the reason says why.
      // 1009 (message too big) comes from the studio's WebSocket library,
      // without a reason; the session is over as with 1008.
      if ((e.code === 1008 && e.reason) || e.code === 1009) {
        state.ended = true;
        state.resume = "";
        end(e.reason || "The page sent the studio a message that was too big.");
        return;
      }
      // 4001: the studio is full. Final too: the page says so and waits
      // for its guest to try again ("Join again"), it does not retry by
      // itself.
      if (e.code === CLOSE_STUDIO_FULL) {
        state.ended = true;
        state.resume = "";
        end(e.reason || "The studio is full — the host can make room; try again later.", "The studio is full");
        return;
      }
      if (!state.ended && state.joined) {
        console.warn("signaling closed", e.code, e.reason);
        if (opened) { reconnect(canKeep()); return; }
        // Refused before it opened: a studio away (retry: a restarted one
        // keeps its link, and takes us back as a guest afresh), or one
        // that no longer knows our link — the host made a new one —
        // which retrying would only make block our address (wrong links
        // count), our upload's requests too.
        linkRefused().then((refused) => {
          if (ws !== state.ws || state.ended || !state.joined) return;
          if (!refused) { reconnect(canKeep()); return; }
          state.ended = true;
          state.resume = "";
          end("This link no longer works: the host replaced it. Ask the host for the new link.");
        });
      }
    };
  }

  // linkRefused asks the studio whether it still takes the page's link:
  // a 403, and not a network error or a studio away.
  function linkRefused() {
    return fetch(location.href, { method: "HEAD", cache: "no-store" })
      .then((r) => r.status === 403, () => false);
  }

  // canKeep is whether the RTCPeerConnection is worth carrying on with
  // over a new socket: its media flowed, and an ICE restart can mend it.
  function canKeep() {
    return !!state.pc && state.attemptConnected && state.pc.connectionState !== "closed";
  }

  // studioAway: the studio closed (the host quit or restarted it). It
  // keeps its link, so the page waits for it, trying again every
  // MAX_RETRY_DELAY, and joins by itself once it is back, with the ID
  // and resume key it had: a studio that starts again holds no session of
  // ours, but puts us back on stage if we were there minutes before
  // (studio/stagekeep.go); else we start in the green room. Our own
  // recording stops, as its show ended; its upload goes on then.
  function studioAway() {
    if (window.greenroomLocal) window.greenroomLocal.stop();
    state.away = true;
    state.retry = 0;
    reconnect(false); // our resume key resumes nothing then: harmless
  }

  // reconnect retries with backoff after a network blip. The studio holds
  // our place (stage or green room) for a while; the resume key from
  // "welcome" takes it back. keep: only the socket broke, carry on with
  // the RTCPeerConnection (the studio may say no; then we start afresh).
  function reconnect(keep) {
    if (state.ended || !state.joined) return;
    if (keep) closeSocket();
    else closeConnection();
    if (state.retry >= (state.away ? AWAY_RETRIES : MAX_RETRIES)) {
      state.ended = true;
      end(state.away ? "The studio has not come back. Ask the host, then join again."
        : "Lost the connection to the studio. Check your network and join again.");
      return;
    }
    const delay = Math.min(MAX_RETRY_DELAY, 500 * 2 ** state.retry);
    state.retry++;
    setStatus(trying("Connection lost — reconnecting…"));
    state.retryTimer = setTimeout(() => connect(keep), delay);
  }

  // shareScreen asks the browser for a screen, window or tab and sends it
  // on the screen's sender; the browser's own "Stop sharing" ends it.
  async function shareScreen() {
    if (state.screen) { stopScreen(); return; }
    if (!state.screenTr || !navigator.mediaDevices.getDisplayMedia) return;
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    } catch (err) {
      console.warn("getDisplayMedia:", err);
      return; // the user said no
    }
    const track = stream.getVideoTracks()[0];
    if (!track || !state.screenTr) { stream.getTracks().forEach((t) => t.stop()); return; }
    track.contentHint = "detail"; // text stays sharp; frames drop instead
    track.onended = stopScreen;
    state.screen = track;
    await state.screenTr.sender.replaceTrack(track);
    send({ type: "share", sharing: true });
    ui.share.textContent = "Stop sharing";
  }

  function stopScreen() {
    const track = state.screen;
    if (!track) return;
    state.screen = null;
    track.onended = null;
    track.stop();
    if (state.screenTr) state.screenTr.sender.replaceTrack(null).catch(() => {});
    send({ type: "share", sharing: false });
    ui.share.textContent = "Share screen";
  }

  // attemptFailed counts the current media attempt as failed, once, and
  // says so when too many failed in a row.
  function attemptFailed() {
    if (!state.pc || state.attemptConnected || state.attemptFailed) return;
    state.attemptFailed = true;
    state.mediaFails++;
    showUnreachable();
  }

  // showUnreachable says the page can't reach the studio, and why, once
  // MEDIA_FAILS attempts in a row failed; it hides the note otherwise.
  function showUnreachable() {
    const on = state.mediaFails >= MEDIA_FAILS;
    ui.unreachable.hidden = !on;
    if (!on) return;
    ui.unreachableWhy.textContent = (state.mediaProblem
      ? "The studio says: " + state.mediaProblem + "."
      : "A firewall on your network or the studio's may be blocking it, or your network may need a TURN server.") +
      " Tell the host: the fix is on their side. This page keeps trying in the background.";
    if (!state.pc || state.pc.connectionState !== "connected") setStatus("Can't reach the studio — still trying");
  }

  // The guest hears their connection is weak, and what to do about it, when
  // the studio rates it red, or amber for AMBER_WAIT: a short amber blip is
  // nothing to act on (the studio already holds a level 5 s before it
  // comes down, so the banner doesn't flap).
  const AMBER_WAIT = 10000;

  function onHealth(m) {
    const h = state.health;
    state.health = { level: m.level, reason: m.reason || "", since: m.level === h.level ? h.since : Date.now() };
    clearTimeout(state.weakTimer);
    if (m.level === "amber") state.weakTimer = setTimeout(showWeak, AMBER_WAIT);
    showWeak();
  }

  function showWeak() {
    const h = state.health;
    state.weak = h.level === "red" || (h.level === "amber" && Date.now() - h.since >= AMBER_WAIT);
    ui.weak.hidden = !state.weak;
    ui.weakWhy.textContent = h.reason ? "The studio sees " + h.reason + "." : "";
  }

  // trying is the status while (re)connecting: s, unless attempts keep
  // failing, which the page does not hide behind "Reconnecting…".
  function trying(s) {
    if (state.away) return "The studio closed — waiting for it to come back…";
    return state.mediaFails >= MEDIA_FAILS ? "Can't reach the studio — still trying" : s;
  }

  // restartIce asks the studio for an ICE restart when the media path that
  // worked broke, and rejoins if that doesn't bring it back in time.
  // stalled says the browser still thinks the path works, but it doesn't
  // (see watchMedia).
  function restartIce(stalled) {
    const pc = state.pc;
    if (!pc || !state.attemptConnected || pc.connectionState === "closed") return;
    if (pc.connectionState === "connected" && stalled !== true) return;
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return; // onclose rejoins
    send(stalled === true ? { type: "restart", stalled: true } : { type: "restart" });
    setStatus("Connection interrupted — reconnecting…");
    if (state.restartTimer) return;
    state.restartTimer = setTimeout(() => {
      state.restartTimer = 0;
      if (pc !== state.pc || (pc.connectionState === "connected" && !mediaStalled())) return;
      console.warn("ICE restart didn't bring the media back: rejoining");
      reconnect();
    }, RESTART_WAIT);
  }

  // watchMedia notices a path that broke without the browser knowing: the
  // guest's router took a new public address (a new uplink, a router
  // restart), the studio still answers our ICE checks (they come from the
  // new address) but sends its media and reports to the old one, so the
  // connection stays "connected" with nothing arriving. The studio sends
  // RTCP receiver reports on what we send about every second, and the
  // stage's media; when neither has come for STALL_MS while the studio
  // still answers our ICE checks, ask for a restart as if the connection
  // had dropped. (When nothing at all comes, the link is down: the
  // browser says "disconnected" soon, and a restart asked for now would
  // only wait for the link to come back, then slow the path that mends
  // by itself.) Over a signaling socket that broke the same way, the
  // request makes the studio's side reset it, and the page comes back
  // over a new one (keep).
  //
  // It also notices our own public address changing: the selected pair's
  // local candidate moves to a new peer-reflexive address when the
  // studio's answers to our checks say we come from elsewhere. The studio
  // follows us there at once (studio/move.go), but the signaling socket's
  // TCP connection went with the old address, and neither end learns it
  // until it sends: the studio would hold our place, then drop us, after
  // its pong timeout. So the page asks for a restart then, over that
  // socket: a dead one is reset at once and the page comes back over a
  // new one (keep); a live one tells the studio, which restarts only if
  // the path is still down after its grace.
  let lastAlive = 0, lastSeen = -1, answersAtAlive = 0, lastLocal = "", lastPC = null;
  async function watchMedia() {
    watchSignaling();
    const pc = state.pc;
    if (!pc || !state.attemptConnected || pc.connectionState !== "connected") { lastSeen = -1; return; }
    let seen = 0, answers = 0, local = "";
    try {
      const stats = await pc.getStats();
      stats.forEach((r) => {
        if (r.type === "inbound-rtp") seen += r.packetsReceived || 0;
        if (r.type === "remote-inbound-rtp") seen += r.roundTripTimeMeasurements || 0;
        if (r.type === "transport" && r.selectedCandidatePairId) {
          const pair = stats.get(r.selectedCandidatePairId);
          answers += (pair && pair.responsesReceived) || 0;
          const l = pair && stats.get(pair.localCandidateId);
          if (l) local = l.address + ":" + l.port;
        }
      });
    } catch { return; }
    if (pc !== lastPC) { lastPC = pc; lastLocal = ""; }
    if (local && lastLocal && local !== lastLocal) {
      console.warn("our address moved from " + lastLocal + " to " + local + ": telling the studio");
      send({ type: "restart" });
    }
    if (local) lastLocal = local;
    if (seen === 0) return; // nothing ever came: nothing to miss
    const now = Date.now();
    if (seen !== lastSeen) { lastSeen = seen; lastAlive = now; answersAtAlive = answers; return; }
    if (now - lastAlive >= STALL_MS && answers > answersAtAlive) {
      lastAlive = now; // once per STALL_MS at most
      answersAtAlive = answers;
      console.warn("nothing from the studio for " + STALL_MS + " ms: asking for an ICE restart");
      restartIce(true);
    }
  }

  // watchSignaling comes back over a new socket when the studio has said
  // nothing over ours for SIGNAL_SILENT_MS.
  function watchSignaling() {
    const ws = state.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !state.joined || state.ended) return;
    if (Date.now() - state.heard < SIGNAL_SILENT_MS) return;
    console.warn("nothing from the studio over signaling for " + SIGNAL_SILENT_MS + " ms: reconnecting");
    reconnect(canKeep());
  }

  function mediaStalled() { return lastSeen >= 0 && Date.now() - lastAlive >= STALL_MS; }

  function closeConnection() {
    closeSocket();
    closeMedia();
  }

  function closeSocket() {
    if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  }

  function closeMedia() {
    attemptFailed(); // an attempt that ends unconnected failed
    clearTimeout(state.attemptTimer);
    clearTimeout(state.restartTimer);
    state.restartTimer = 0;
    state.hostMuted = false; // the studio says again when we are back
    applyDevices();
    if (state.screen) { state.screen.onended = null; state.screen.stop(); state.screen = null; }
    state.screenTr = null;
    ui.share.textContent = "Share screen";
    ui.share.disabled = true;
    if (state.pc) { state.pc.close(); state.pc = null; }
    state.pendingCandidates = [];
    for (const id of [...state.tiles.keys()]) removeTile(id);
  }

  async function onMessage(m) {
    switch (m.type) {
    case "welcome":
      state.away = false;
      state.id = m.id;
      state.resume = m.resume || "";
      keepPlace();
      ui.selfName.textContent = m.name + " (you)";
      state.attemptTimeout = ATTEMPT_WAITS * (m.mediaWait || MEDIA_WAIT);
      sendDevices(); // a guest back after a blip may have changed them meanwhile
      // A session afresh starts as a voice; the studio resyncs a kept one.
      if (!m.keep && state.music) send({ type: "music", music: true });
      state.view.sent = ""; // and the sizes of its tiles
      reportView();
      if (m.keep && state.pc) {
        // The same session: the studio offers an ICE restart. The media
        // may never have stopped (only the socket broke).
        state.retry = 0;
        setPlaceStatus();
        break;
      }
      if (state.pc) closeMedia(); // we asked to keep it; the studio starts afresh
      await startPeer(m.iceServers || []);
      break;
    case "answer": {
      const pc = state.pc;
      await pc.setRemoteDescription({ type: "answer", sdp: hintRemote(m.sdp) });
      await flushCandidates();
      preferResolution();
      tuneAudio();
      state.retry = 0;
      clearTimeout(state.attemptTimer);
      state.attemptTimer = setTimeout(() => {
        if (pc !== state.pc || state.attemptConnected) return;
        console.warn("media not connected after", state.attemptTimeout, "ms: starting over");
        reconnect();
      }, state.attemptTimeout);
      break;
    }
    case "media":
      if (m.media === "failed") {
        state.mediaProblem = m.problem || "";
        // Right after "welcome" the studio repeats its verdict on our
        // last attempt; only one after its answer is about this one.
        if (state.pc && state.pc.remoteDescription) attemptFailed();
        showUnreachable();
      }
      break;
    case "offer":
      await state.pc.setRemoteDescription({ type: "offer", sdp: hintRemote(m.sdp) });
      await flushCandidates();
      await state.pc.setLocalDescription(stereoIn(await state.pc.createAnswer()));
      send({ type: "answer", sdp: state.pc.localDescription.sdp });
      tuneAudio();
      break;
    case "candidate":
      if (!state.pc || !state.pc.remoteDescription) state.pendingCandidates.push(m.candidate);
      else await state.pc.addIceCandidate(m.candidate);
      break;
    case "roster":
      state.roster = m.roster || [];
      onRoster();
      break;
    case "health":
      onHealth(m);
      break;
    case "muted":
      state.hostMuted = !!m.muted;
      applyDevices();
      break;
    case "music": // the host switched it (or the studio says where it stands)
      if (!!m.music !== state.music) setMusic(!!m.music, true);
      break;
    case "layers": // the camera's layers nobody gets now (issue #10)
      state.pausedLayers = Array.isArray(m.paused) ? m.paused : [];
      applyLayers();
      break;
    case "record": // our own local recording (localrec.js)
      if (!window.greenroomLocal) break;
      if (m.take && !state.hiRes) {
        state.hiRes = true; // the camera again, at up to 1080p
        keepPlace();
        state.reopening = getMedia();
      }
      // Every "record" waits for that, in the order they came: one
      // handled meanwhile would record the camera being closed.
      await state.reopening;
      if (m.take) window.greenroomLocal.record(m.take, m.key, state.stream, () => state.pc);
      else window.greenroomLocal.stop();
      break;
    case "error":
      console.warn("studio:", m.error);
      state.errors.push(m.error);
      break;
    case "bye":
      if (m.back) { studioAway(); break; }
      state.ended = true;
      state.resume = "";
      end(m.reason);
      break;
    }
  }

  async function flushCandidates() {
    const cs = state.pendingCandidates;
    state.pendingCandidates = [];
    for (const c of cs) await state.pc.addIceCandidate(c);
  }

  async function startPeer(iceServers) {
    const pc = new RTCPeerConnection({ iceServers });
    state.pc = pc;
    state.pausedLayers = []; // a new session: the studio gets every layer until it says
    // Always one audio and one video sender, even without the device, so a
    // device that shows up later goes out through replaceTrack without a
    // renegotiation (the studio does all offers after this one).
    for (const kind of ["audio", "video"]) {
      const track = state.stream.getTracks().find((t) => t.kind === kind) || null;
      const init = { direction: "sendonly", streams: [state.stream] };
      if (kind === "video") {
        try {
          pc.addTransceiver(track || kind, { ...init, sendEncodings: layersFor(track) });
          continue;
        } catch (err) {
          console.warn("simulcast:", err); // one layer, as before
        }
      }
      pc.addTransceiver(track || kind, init);
    }
    // The screen's sender: no track until Share screen.
    state.screenTr = pc.addTransceiver("video", { direction: "sendonly", streams: [new MediaStream()] });
    pc.onicecandidate = (e) => { if (e.candidate) send({ type: "candidate", candidate: e.candidate.toJSON() }); };
    pc.ontrack = (e) => onTrack(e);
    state.attemptConnected = false;
    state.attemptFailed = false;
    pc.onconnectionstatechange = () => {
      if (pc !== state.pc) return;
      const st = pc.connectionState;
      if (st === "disconnected" || st === "failed") {
        if (state.attemptConnected && state.ws && state.ws.readyState === WebSocket.OPEN) restartIce();
        else if (st === "failed") reconnect();
      }
      if (st === "connected") {
        clearTimeout(state.restartTimer);
        state.restartTimer = 0;
        state.retry = 0;
        state.attemptConnected = true;
        state.mediaFails = 0;
        state.mediaProblem = "";
        clearTimeout(state.attemptTimer);
        showUnreachable();
        setPlaceStatus();
      }
    };
    await pc.setLocalDescription(stereoIn(await pc.createOffer()));
    const sources = {};
    for (const tr of pc.getTransceivers()) {
      if (tr.mid === null) continue;
      sources[tr.mid] = tr === state.screenTr ? "screen" : tr.receiver.track.kind === "audio" ? "mic" : "camera";
    }
    send({ type: "offer", sdp: pc.localDescription.sdp, sources });
    ui.share.disabled = false;
  }

  // hintRemote sets what the page wants of a description from the
  // studio: the start/min bitrate hints on every VP8 payload type, and
  // on Opus the parameters of music mode, or none of them.
  function hintRemote(sdp) {
    sdp = fmtp(sdp, "VP8/90000", (p) => p.includes("x-google-start-bitrate") ? p : (p ? p + ";" : "") + VP8_HINTS);
    return fmtp(sdp, "opus/48000", opusParams);
  }

  // stereoIn lets the browser decode the others' stereo (a guest in
  // music mode): stereo=1 on Opus in our own description is what we
  // receive (RFC 7587 §7); without it Chromium decodes to mono.
  function stereoIn(desc) {
    const sdp = fmtp(desc.sdp, "opus/48000", (p) => /(^|;)\s*stereo=/.test(p) ? p : (p ? p + ";" : "") + "stereo=1");
    return { type: desc.type, sdp };
  }

  function opusParams(p) {
    const keep = p.split(";").filter((kv) => kv && !/^\s*(stereo|sprop-stereo|maxaveragebitrate)=/i.test(kv));
    return keep.concat(state.music ? MUSIC_OPUS : []).join(";");
  }

  // fmtp applies edit to the fmtp parameters of every payload type of
  // codec (its rtpmap's name/rate) in sdp; one without an fmtp line gets
  // one after its rtpmap, if edit gives it any.
  function fmtp(sdp, codec, edit) {
    const rtpmap = new RegExp("^a=rtpmap:(\\d+) " + codec.replace("/", "\\/"), "i");
    const lines = sdp.split("\r\n");
    const pts = new Set();
    for (const l of lines) {
      const m = rtpmap.exec(l);
      if (m) pts.add(m[1]);
    }
    const out = [];
    const edited = new Set();
    for (const l of lines) {
      const f = /^a=fmtp:(\d+) (.*)$/.exec(l);
      if (f && pts.has(f[1])) {
        edited.add(f[1]);
        out.push("a=fmtp:" + f[1] + " " + edit(f[2]));
        continue;
      }
      out.push(l);
    }
    for (let i = out.length - 1; i >= 0; i--) {
      const m = rtpmap.exec(out[i]);
      const p = m && !edited.has(m[1]) ? edit("") : "";
      if (p) out.splice(i + 1, 0, "a=fmtp:" + m[1] + " " + p);
    }
    return out.join("\r\n");
  }

  // tuneAudio lets our mic's sender use music mode's bit rate, or puts
  // it back to the browser's own.
  async function tuneAudio() {
    for (const s of state.pc ? state.pc.getSenders() : []) {
      if (!s.track || s.track.kind !== "audio") continue;
      try {
        const p = s.getParameters();
        if (!p.encodings || !p.encodings.length) continue;
        if (state.music) p.encodings[0].maxBitrate = MUSIC_BPS;
        else delete p.encodings[0].maxBitrate;
        await s.setParameters(p);
      } catch (err) {
        console.warn("audio bit rate:", err);
      }
    }
  }

  // layersFor is the camera's simulcast layers for track: LAYERS, from
  // a camera above CALL_HEIGHT (1080p for the local recording) scaled
  // down to the sizes they have from 720p, so the call costs the same.
  function layersFor(track) {
    const h = (track && track.getSettings && track.getSettings().height) || 0;
    const base = Math.max(1, h / CALL_HEIGHT);
    return LAYERS.map((l) => ({ ...l, scaleResolutionDownBy: l.scaleResolutionDownBy * base }));
  }

  // preferResolution keeps 720p when bandwidth is short (frames drop
  // instead): the studio composites the picture, a blurry guest looks worse
  // than a jerky one. It also scales the camera's layers for the camera
  // sent now (layersFor), and sends only those the studio has a use for
  // (applyLayers).
  function preferResolution() {
    return tuneVideo((s, p) => {
      p.degradationPreference = "maintain-resolution";
      if (p.encodings && p.encodings.length > 1) {
        const want = layersFor(s.track);
        for (const e of p.encodings) {
          const l = want.find((w) => w.rid === e.rid);
          if (l) e.scaleResolutionDownBy = l.scaleResolutionDownBy;
        }
      }
      pauseEncodings(p);
    });
  }

  // applyLayers stops the camera's layers the studio said nobody gets
  // (its "layers") and sends the others again: the browser encodes and
  // sends only what someone sees, which a thin uplink and a slow laptop
  // feel. The studio says so again before anyone is to get a paused one.
  function applyLayers() {
    return tuneVideo((s, p) => pauseEncodings(p));
  }

  function pauseEncodings(p) {
    if (!p.encodings || p.encodings.length < 2) return; // one layer: nothing to choose
    for (const e of p.encodings) e.active = !state.pausedLayers.includes(e.rid);
  }

  // tuneVideo applies edit(sender, parameters) to our video senders (the
  // camera's, and the screen's, which has one layer), one change at a
  // time: a setParameters begun before the last one ended fails (its
  // transaction is stale).
  let videoTuned = Promise.resolve();
  function tuneVideo(edit) {
    videoTuned = videoTuned.then(async () => {
      if (!state.pc) return;
      for (const s of state.pc.getSenders()) {
        if (!s.track || s.track.kind !== "video") continue;
        try {
          const p = s.getParameters();
          edit(s, p);
          await s.setParameters(p);
        } catch (err) {
          console.warn("video sender parameters:", err);
        }
      }
    });
    return videoTuned;
  }

  function replaceSentTracks() {
    if (!state.pc) return;
    const done = [];
    for (const tr of state.pc.getTransceivers()) {
      const kind = tr.receiver.track && tr.receiver.track.kind;
      if (tr.direction !== "sendonly" || tr.currentDirection === "inactive" || !kind || tr === state.screenTr) continue;
      if (!state.stream) continue;
      const track = state.stream.getTracks().find((t) => t.kind === kind) || null;
      if (tr.sender.track !== track) done.push(tr.sender.replaceTrack(track).catch((e) => console.warn(e)));
    }
    // Once the senders have their tracks: the layers' scale follows the
    // camera's size (layersFor).
    Promise.all(done).then(preferResolution);
  }

  // ---- the stage ----------------------------------------------------------

  function onTrack(e) {
    const stream = e.streams[0];
    if (!stream) return;
    // The studio uses the participant ID as stream ID, and the ID and
    // "/screen" for a shared screen.
    const id = stream.id;
    let tile = state.tiles.get(id);
    if (!tile) {
      const el = document.createElement("div");
      el.className = "tile";
      const video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      const name = document.createElement("span");
      name.className = "name";
      // A microphone struck through: their mic is off, or the host muted them.
      const micOff = document.createElement("span");
      micOff.className = "mic-off";
      micOff.hidden = true;
      micOff.setAttribute("role", "img");
      micOff.innerHTML = MIC_OFF_SVG;
      el.append(video, name, micOff);
      ui.stage.append(el);
      tile = { el, video, name, micOff, stream };
      state.tiles.set(id, tile);
      el.title = "Click to make them big; again to go back";
      el.addEventListener("click", () => pin(id));
      tileResized.observe(el);
      // Whether a picture shows is read from the video element, not from
      // track.muted: Chromium leaves a forwarded video track "muted" after
      // a renegotiation even while it decodes frames.
      for (const ev of ["loadeddata", "resize", "emptied"]) video.addEventListener(ev, () => tileLooks(id));
      stream.onremovetrack = () => { if (stream.getTracks().length === 0) removeTile(id); else tileLooks(id); };
    }
    if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
    e.track.onunmute = () => tileLooks(id);
    e.track.onmute = () => tileLooks(id);
    tile.video.play().catch(() => { ui.unmute.hidden = false; });
    tileLooks(id);
  }

  function tileLooks(id) {
    const tile = state.tiles.get(id);
    if (!tile) return;
    const screen = id.endsWith("/screen");
    const member = state.roster.find((m) => m.id === (screen ? id.slice(0, -"/screen".length) : id));
    const name = (member ? member.name : "Guest") + (screen ? "'s screen" : "");
    tile.el.classList.toggle("screen", screen);
    tile.name.textContent = name;
    tile.el.dataset.initial = name.slice(0, 1).toUpperCase();
    // A guest who turned their camera off sends black: their initials instead.
    tile.wantsPicture = !(member && member.cameraOff && !screen) &&
      tile.stream.getVideoTracks().some((t) => t.readyState === "live");
    const picture = tile.wantsPicture && tile.video.videoWidth > 0;
    tile.el.classList.toggle("audio-only", !picture);
    const silent = !!member && !screen && (member.micOff || member.muted);
    tile.micOff.hidden = !silent;
    const why = member && member.muted ? "Muted by the host" : "Mic off";
    tile.micOff.title = why;
    tile.micOff.setAttribute("aria-label", why);
    ui.emptyStage.hidden = state.tiles.size > 0;
    reportView();
  }

  function removeTile(id) {
    const tile = state.tiles.get(id);
    if (!tile) return;
    tile.video.srcObject = null;
    tileResized.unobserve(tile.el);
    tile.el.remove();
    state.tiles.delete(id);
    ui.emptyStage.hidden = state.tiles.size > 0;
    reportView();
  }

  // pin makes one person big (the whole width of the stage), or back.
  function pin(id) {
    const tile = state.tiles.get(id);
    if (!tile) return;
    const big = !tile.el.classList.contains("pinned");
    for (const t of state.tiles.values()) t.el.classList.remove("pinned");
    tile.el.classList.toggle("pinned", big);
    reportView();
  }

  // ---- the tile sizes we show (issue #10) ---------------------------------
  // The studio sends us each other person's camera in the smallest of its
  // layers that fills the tile we draw them in, so we tell it how big
  // those are ("view", device pixels): a grid of small tiles needs their
  // 360p or 180p, not three 720p streams, and a person made big gets their
  // 720p. A tile that shows no picture (camera off, no video track) and a
  // page in a background tab need none: [0, 0], their lowest layer. A
  // tile waiting for its first picture says its size: told [0, 0] until
  // then, the studio sent a joining guest everyone's lowest layer, and
  // the climbs to what her tiles need, a track and a probe at a time,
  // took 3-30 s. Sent when the sizes change, at most every VIEW_EVERY ms.
  const VIEW_EVERY = 500, VIEW_MAX = 32, VIEW_PX = 16384;
  const tileResized = new ResizeObserver(() => reportView());

  function tileSizes() {
    const dpr = window.devicePixelRatio || 1;
    const away = document.visibilityState === "hidden";
    const sizes = {};
    for (const [id, tile] of [...state.tiles].slice(0, VIEW_MAX)) {
      const r = tile.video.getBoundingClientRect();
      const shown = !away && !!tile.wantsPicture;
      const px = (v) => Math.min(VIEW_PX, Math.round(v * dpr));
      sizes[id] = shown ? [px(r.width), px(r.height)] : [0, 0];
    }
    return sizes;
  }

  function reportView() {
    const v = state.view;
    if (v.timer) return; // one is due: it will read the sizes then
    v.timer = setTimeout(() => {
      v.timer = 0;
      if (!state.ws || state.ws.readyState !== WebSocket.OPEN || !state.id) return;
      const sizes = tileSizes(), key = JSON.stringify(sizes);
      if (key === v.sent) return;
      v.sent = key;
      v.at = Date.now();
      send({ type: "view", sizes });
    }, Math.max(0, v.at + VIEW_EVERY - Date.now()));
  }

  function onRoster() {
    const me = state.roster.find((m) => m.id === state.id);
    state.place = me ? me.place : "";
    for (const id of [...state.tiles.keys()]) {
      const m = state.roster.find((r) => r.id === id.replace(/\/screen$/, ""));
      if (!m || m.place !== "stage") removeTile(id);
      else tileLooks(id);
    }
    ui.greenroomNote.hidden = state.place !== "greenroom";
    setPlaceStatus();
  }

  function setPlaceStatus() {
    if (!state.pc || state.pc.connectionState !== "connected") return;
    setStatus(state.place === "stage" ? "You're on stage" : "Green room");
  }

  function setStatus(s) { ui.status.textContent = s; }

  // ---- screens ------------------------------------------------------------

  // join enters the show: afresh, in the green room, or (back: the tab's
  // kept place, after a reload) taking that place back.
  function join(back) {
    const name = ui.name.value.trim();
    if (!name) { ui.name.focus(); ui.note.textContent = "Please enter your name."; return; }
    try { localStorage.setItem("greenroom.name", name); } catch { /* private mode */ }
    state.joined = true;
    state.ended = false;
    state.retry = 0;
    state.mediaFails = 0;
    state.mediaProblem = "";
    showUnreachable();
    if (back) state.id = back.id;
    state.resume = back ? back.resume : ""; // a fresh join starts in the green room
    ui.setup.hidden = true;
    ui.ended.hidden = true;
    ui.show.hidden = false;
    ui.emptyStage.hidden = false;
    if (meter) meter.ctx.resume();
    connect();
  }

  function leave() {
    send({ type: "leave" });
    state.ended = true;
    end("You left the show.");
  }

  function end(reason, title) {
    state.joined = false;
    keepPlace(); // forgets it
    if (window.greenroomLocal) window.greenroomLocal.stop(); // its upload goes on
    state.health = { level: "", reason: "", since: 0 };
    showWeak();
    closeConnection();
    ui.show.hidden = true;
    ui.endedTitle.textContent = title || "You're out of the show";
    ui.endedReason.textContent = reason || "";
    ui.ended.hidden = false;
  }

  ui.join.onclick = () => join();
  ui.name.onkeydown = (e) => { if (e.key === "Enter") join(); };
  ui.leave.onclick = leave;
  ui.share.onclick = shareScreen;
  for (const b of ui.micToggles) b.onclick = toggleMic;
  for (const b of ui.cameraToggles) b.onclick = toggleCamera;
  ui.music.onclick = () => setMusic(!state.music, false);
  // As in Meet: Ctrl/Cmd+D the mic, Ctrl/Cmd+E the camera (overriding the
  // browser's bookmark and search shortcuts on the setup screen and in the
  // show).
  document.addEventListener("keydown", (e) => {
    if ((ui.show.hidden && ui.setup.hidden) || !(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
    const k = e.key.toLowerCase();
    if (k === "d" && !ui.micToggles[0].disabled) { e.preventDefault(); toggleMic(); }
    if (k === "e" && !ui.cameraToggles[0].disabled) { e.preventDefault(); toggleCamera(); }
  });
  ui.share.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  ui.rejoin.onclick = () => join();
  ui.camera.onchange = getMedia;
  ui.mic.onchange = getMedia;
  ui.unmute.onclick = () => {
    for (const t of state.tiles.values()) t.video.play().catch(() => {});
    ui.unmute.hidden = true;
  };
  if (navigator.mediaDevices) navigator.mediaDevices.ondevicechange = listDevices;
  // The network is back, or another one took over: a restart asked for
  // while it was down found no path; ask again on the new one.
  window.addEventListener("online", restartIce);
  document.addEventListener("visibilitychange", reportView);
  window.addEventListener("resize", reportView);
  if (navigator.connection) navigator.connection.addEventListener("change", restartIce);
  setInterval(watchMedia, 1000);

  let saved = "";
  try { saved = localStorage.getItem("greenroom.name") || ""; } catch { /* private mode */ }
  ui.name.value = params.get("name") || saved;
  const back = keptPlace();
  if (back) {
    ui.name.value = back.name;
    state.micOff = !!back.micOff;
    state.cameraOff = !!back.cameraOff;
    state.music = !!back.music;
    state.hiRes = !!back.hiRes;
  }
  showMusic();

  (async () => {
    if (!navigator.mediaDevices || !window.RTCPeerConnection) {
      ui.note.textContent = "This browser can't join: it needs camera access over HTTPS and WebRTC.";
      ui.note.classList.add("warn");
      ui.join.disabled = true;
      return;
    }
    ui.join.disabled = true;
    await getMedia();
    ui.join.disabled = false;
    if (back) join(back);
    else if (params.get("join") === "1" && ui.name.value.trim()) join();
  })();
})();
