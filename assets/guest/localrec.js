// Greenroom guest page: the guest's own full-quality local recording
// (issue #11; the studio's side is studio/upload.go).
//
// When the host has it on and the show is live, the studio sends "record"
// with a take (an ID and its key); guest.js hands it here with the page's
// camera and mic. MediaRecorder records them (VP9 + Opus if the browser
// offers it, else VP8, at up to 1080p, 8 Mb/s and 256 kb/s: far above
// what the call sends) in SLICE_MS chunks numbered from 0. Each chunk goes to IndexedDB
// first and is deleted only once the studio confirmed it, so a dropped
// connection or a reload loses nothing: the page asks the studio where
// each take stands (GET /upload/<take>) and goes on from there. A
// reloaded page can't go on with the old recorder: it finishes uploading
// the old take (the studio then holds it complete) and records a new one.
//
// One chunk is in flight at a time. While recording, the upload takes the
// call's headroom (see pace): from LIVE_BPS faster while the call's own
// sender shows room, slower when it shows the path tight; IDLE_BPS after.
// The page shows the progress and asks the guest not to close the tab
// while chunks are left.
// A studio that refuses a take for good (REFUSED: it expired after its 7
// days, it is another studio's, the link changed) gets nothing more of
// it: the page says so and offers the guest its stored chunks as one
// .webm download (save), the only full-quality copy left, and asks
// before the tab closes until the guest saved or discarded it.
// Two tabs of the same link in one browser would share the database;
// a take's chunks are still uploaded once and in order (the studio
// refuses the rest), but a reload takes the other tab's running take for
// finished.
(function () {
  "use strict";

  // A slice is what a page that goes away without warning (a crash, a
  // killed tab) loses at most; one reloaded or closed asks for what it
  // has at once (flush), kept if it commits before the page goes: on
  // loopback it was 40 ms too late (a slice of 2 s lost 1.1-1.3 s).
  const SLICE_MS = 1000;
  // What the recorder is asked for: the camera's up to 1080p (guest.js
  // opens it so while recording) at 8 Mb/s, the mic at 256 kb/s. A 1 s
  // chunk is then about 1 MB; the studio takes up to 8 MB (maxChunk).
  const VIDEO_BPS = 8000000, AUDIO_BPS = 256000;
  const LIVE_BPS = 1e6, IDLE_BPS = 8e6, MIN_BPS = 250e3;
  // The call's round trip this much above the least seen means a queue is
  // filling on the way (the upload's own, most likely): LEDBAT's signal
  // (RFC 6817), with a smaller target than its 100 ms, as the call's
  // congestion control reacts to delay too.
  const QUEUE_MS = 60;
  // How often the pace is set again while it holds the upload back, and
  // how much faster each time with room.
  const PACE_MS = 1000, PACE_UP = 1.25;
  const RETRY_MS = 2000;
  // Answers that refuse a take for good: a take or key the studio does
  // not know (401: expired, or another studio's), another take's key
  // (403), no upload here (404, 410), a chunk it will never take (413).
  // Asking again changes nothing (and each 401 counts against the
  // guest's address). Anything else — the network, 5xx, 429 — is retried.
  const REFUSED = [401, 403, 404, 410, 413];
  // How long the recorder's start waits for a frame of the camera to time
  // it by (afterFrame).
  const FRAME_WAIT_MS = 500;
  const TYPES = ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm"];
  const AUDIO_TYPES = ["audio/webm;codecs=opus", "audio/webm"];

  // What the page knows, for the UI and for test automation.
  const status = {
    take: "",           // the take being recorded, "" when not recording
    mime: "",           // its MediaRecorder type
    takes: {},          // take → {total, acked, done, refused, kept} as this page saw them
    errors: [],
    pace: LIVE_BPS,     // the upload's pace while recording, bits/s
    tight: 0,           // how often the call's path was found tight
    why: "",            // and why, the last time
  };
  let recorder = null;
  let pumping = false, retryTimer = 0;
  let callPC = () => null; // the call's RTCPeerConnection, from guest.js
  // take → a promise of its recorder's last chunk stored (its take final).
  const ended = {};
  // That call's least round trip; its last sample (the pair's responses
  // so far) and how many samples in a row showed a queue.
  let minRtt = Infinity, rttOf = null, rttSample = -1, queued = 0;

  // ---- IndexedDB: "takes" {take, key, total, final, startWall}, "chunks" {take, n, blob}

  let dbp = null;
  function db() {
    if (!dbp) {
      dbp = new Promise((resolve, reject) => {
        const r = indexedDB.open("greenroom-recording", 1);
        r.onupgradeneeded = () => {
          r.result.createObjectStore("takes", { keyPath: "take" });
          r.result.createObjectStore("chunks", { keyPath: ["take", "n"] });
        };
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    }
    return dbp;
  }

  // tx runs f in one transaction over stores, made as soon as the
  // database is open: readwrite transactions over the same stores run in
  // the order they were made, so writes asked for in order land in order
  // without waiting on each other. It resolves once the transaction
  // committed, with the result of the request f returns.
  async function tx(stores, mode, f) {
    const t = (await db()).transaction(stores, mode);
    const r = f(t);
    return new Promise((resolve, reject) => {
      t.oncomplete = () => resolve(r && r.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }
  const op = (store, mode, f) => tx(store, mode, (t) => f(t.objectStore(store)));
  const getTake = (take) => op("takes", "readonly", (s) => s.get(take));
  const putTake = (t) => op("takes", "readwrite", (s) => s.put(t));
  // changeTake applies f to take's record within transaction t.
  function changeTake(t, take, f) {
    const s = t.objectStore("takes"), g = s.get(take);
    g.onsuccess = () => { if (g.result) { f(g.result); s.put(g.result); } };
  }
  const updateTake = (take, f) => tx("takes", "readwrite", (t) => changeTake(t, take, f));
  // keep stores chunk n of take and counts it in one transaction, begun
  // at once: a page going away (a reload) keeps the chunk it got last if
  // the transaction was begun before its document went.
  const keep = (take, n, blob) => tx(["chunks", "takes"], "readwrite", (t) => {
    t.objectStore("chunks").put({ take, n, blob });
    changeTake(t, take, (k) => { k.total = Math.max(k.total, n + 1); });
  });
  function forget(take) {
    return Promise.all([
      op("takes", "readwrite", (s) => s.delete(take)),
      op("chunks", "readwrite", (s) => s.delete(IDBKeyRange.bound([take, 0], [take, Infinity]))),
    ]);
  }

  // ---- recording ------------------------------------------------------------

  function record(take, key, stream, pc) {
    if (pc) callPC = pc;
    if (status.take === take) return; // told again (the socket came back)
    stop();
    if (!window.MediaRecorder || !window.indexedDB || !stream || !stream.getTracks().length) return;
    const types = stream.getVideoTracks().length ? TYPES : AUDIO_TYPES;
    const mimeType = types.find((t) => MediaRecorder.isTypeSupported(t));
    if (!mimeType) { // Safari records MP4 only: the studio keeps WebM (for now)
      status.errors.push("recorder: no WebM in this browser");
      return;
    }
    let r;
    try {
      r = new MediaRecorder(new MediaStream(stream.getTracks()),
        { mimeType, videoBitsPerSecond: VIDEO_BPS, audioBitsPerSecond: AUDIO_BPS });
    } catch (err) {
      status.errors.push("recorder: " + err);
      return;
    }
    recorder = r;
    status.take = take;
    status.mime = r.mimeType || mimeType;
    // stopWall: when it was told to stop (Date.now; 0 until then).
    status.takes[take] = { total: 0, acked: 0, done: false, startWall: 0, stopWall: 0 };
    let n = 0;
    r.ondataavailable = (e) => {
      if (!e.data.size) return;
      const i = n++;
      status.takes[take].total = n;
      show(); // a chunk more waits: an upload held back shows it at once
      keep(take, i, e.data).catch((err) => status.errors.push("store: " + err)).then(pump);
    };
    // Slices by requestData, not start(SLICE_MS): Chromium ends a timed
    // slice at the muxer's first write after SLICE_MS, and its WebM muxer
    // writes the header a byte at a time, so a recorder whose first frame
    // came later than that (a 1080p encoder starting slowly on a busy
    // machine) handed over a chunk 0 of 1 byte, the header's first, and
    // the rest only a slice later: a page reloaded meanwhile left a
    // 1-byte take. requestData takes all that was written, whole frames.
    const slicer = setInterval(() => { if (r.state === "recording") r.requestData(); }, SLICE_MS);
    let finished;
    ended[take] = new Promise((resolve) => { finished = resolve; });
    r.onstop = () => {
      clearInterval(slicer);
      updateTake(take, (t) => { t.final = true; }).catch((err) => status.errors.push("store: " + err))
        .then(() => { finished(); pump(); });
    };
    r.onerror = (e) => status.errors.push("recorder: " + (e.error || e));
    // The file starts with the first frame that reaches the recorder,
    // which the studio places on the show's timeline through the call's
    // sender reports (upload.go): startWall is when it was captured, on
    // Date.now's clock. Not the start event: it comes once the encoder is
    // up, 1.3 s later for VP9 at 1080p on a busy machine.
    const video = stream.getVideoTracks()[0];
    afterFrame(video, (startWall) => {
      if (recorder !== r) { // stopped before it started
        clearInterval(slicer);
        finished();
        return;
      }
      status.takes[take].startWall = startWall;
      putTake({ take, key, total: 0, final: false, startWall }).catch((err) => status.errors.push("store: " + err));
      r.start();
      show();
    });
  }

  // afterFrame calls go, with when the camera's next frame will be
  // captured (Date.now's clock, whole ms: the studio reads integers), just
  // after one of its frames was shown in a video of its own: the recorder
  // started then takes that next frame first, a frame's time away, where
  // one started at any moment took the frame in flight or the next (its
  // place was −39…+35 ms from the program's, median per file, at half a
  // frame after start()). requestVideoFrameCallback's captureTime is on
  // performance.now's clock. Without it (a background tab shows no
  // frames; another browser), half a frame after now.
  function afterFrame(video, go) {
    const period = 1000 / ((video && video.getSettings().frameRate) || 30);
    let done = false, v = null, timer = 0;
    const finish = (wall) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (v) { v.pause(); v.srcObject = null; }
      go(Math.round(wall));
    };
    const guess = () => finish(Date.now() + (video ? period / 2 : 0));
    if (!video || !("requestVideoFrameCallback" in HTMLVideoElement.prototype)) return guess();
    v = document.createElement("video");
    v.muted = true;
    v.playsInline = true;
    v.srcObject = new MediaStream([video]);
    timer = setTimeout(guess, FRAME_WAIT_MS);
    let tries = 0;
    const onFrame = (_, md) => {
      const since = performance.now() - md.captureTime;
      // Called late after its frame (a busy page): the next may be
      // captured before the recorder is ready for it; wait for another.
      if (md.captureTime === undefined || (since > period / 3 && ++tries < 5)) {
        if (md.captureTime === undefined) return guess();
        v.requestVideoFrameCallback(onFrame);
        return;
      }
      finish(performance.timeOrigin + md.captureTime + period);
    };
    v.requestVideoFrameCallback(onFrame);
    v.play().catch(guess);
  }

  function stop() {
    if (status.take) status.takes[status.take].stopWall = Date.now();
    if (recorder && recorder.state !== "inactive") recorder.stop(); // its last chunk, then onstop
    recorder = null;
    status.take = "";
    show();
  }

  // ---- upload ---------------------------------------------------------------

  // pump uploads every take's chunks the studio lacks, in order, one at a
  // time, until none is left that is stored; new chunks call it again.
  async function pump() {
    if (pumping) return;
    pumping = true;
    clearTimeout(retryTimer);
    try {
      const takes = await op("takes", "readonly", (s) => s.getAll());
      takes.sort((a, b) => a.startWall - b.startWall);
      for (const t of takes) {
        if (!(status.takes[t.take] || {}).refused) await upload(t.take);
      }
    } catch (err) {
      status.errors.push("upload: " + err);
      retryTimer = setTimeout(pump, RETRY_MS);
    } finally {
      pumping = false;
      show();
    }
  }

  async function upload(take) {
    let t = await getTake(take);
    const at = await fetch("/upload/" + take, { headers: { Authorization: "Bearer " + t.key }, cache: "no-store" });
    if (REFUSED.includes(at.status)) return refuse(take, at.status);
    if (!at.ok) throw new Error("where to resume: " + at.status);
    let { next, done } = await at.json();
    const seen = status.takes[take] || (status.takes[take] = { total: t.total, acked: next, done: false });
    for (;;) {
      t = await getTake(take);
      seen.total = Math.max(seen.total, t.total);
      seen.acked = next;
      // Done before show: the note says "all done" the moment the tab
      // may close (pending), never "100 % — keep this tab open" after it.
      seen.done = done;
      show();
      if (done) {
        await forget(take);
        return;
      }
      // Chunk 0, the file's header, stays until the take is whole at the
      // studio: a take refused later is then saved (save) as a file a
      // player can open, if with a hole where the studio's part was.
      if (next > 1) await op("chunks", "readwrite", (s) => s.delete(IDBKeyRange.bound([take, 1], [take, next - 1])));
      const c = await op("chunks", "readonly", (s) => s.get([take, next]));
      if (!c && !(t.final && next >= t.total)) return; // more to come from the recorder
      const q = new URLSearchParams({ of: String(t.total) });
      if (t.final && next >= t.total - 1) q.set("final", "1");
      // The take's start: wall on the clock the call's sender reports
      // by (the studio places it through those reports), and since for
      // a studio that has none of them yet (upload.go). Whole ms: the
      // studio reads integers, and read an older page's fractional since
      // (its start plus 1000/30 ms) as 0, placing its take a chunk late.
      if (next === 0 && t.startWall) {
        q.set("wall", String(Math.round(t.startWall)));
        q.set("since", String(Math.max(0, Math.round(Date.now() - t.startWall))));
      }
      const began = performance.now();
      const res = await fetch("/upload/" + take + "/" + next + "?" + q, {
        method: "POST", body: c ? c.blob : new Blob([]), cache: "no-store",
        headers: { Authorization: "Bearer " + t.key, "Content-Type": "application/octet-stream" },
      });
      if (REFUSED.includes(res.status)) return refuse(take, res.status);
      if (res.status !== 200 && res.status !== 409) throw new Error("chunk " + next + ": " + res.status);
      ({ next, done } = await res.json());
      await paced(c ? c.blob.size : 0, began);
    }
  }

  // refuse marks take refused for good by the studio (code): nothing more
  // of it is sent, and the page offers it to the guest (show).
  function refuse(take, code) {
    const seen = status.takes[take] || (status.takes[take] = { total: 0, acked: 0, done: false });
    seen.refused = code;
    status.errors.push("upload: take " + take + " refused: " + code);
  }

  // ---- a refused take: the guest's to keep ----------------------------------

  // save hands the guest take's stored chunks, in order, as one .webm
  // download (its recorder stopped first if it still runs), then forgets
  // them: the guest has the file. Its Blob refers to the chunks' own
  // (IndexedDB keeps them while a Blob does), so an hour's gigabytes are
  // not copied into memory.
  async function save(take) {
    const t = await settle(take);
    const chunks = await op("chunks", "readonly", (s) => s.getAll(IDBKeyRange.bound([take, 0], [take, Infinity])));
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob(chunks.map((c) => c.blob), { type: "video/webm" }));
    a.download = "Greenroom recording " + stamp(new Date((t && t.startWall) || Date.now())) + ".webm";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    await drop(take, a.download);
  }

  // discard forgets take's chunks, once the guest confirmed it.
  async function discard(take) {
    if (!window.confirm("Delete your recording from this computer? Nobody else has a copy of it.")) return;
    await settle(take);
    await drop(take, "");
  }

  // settle stops take's recorder if it still runs and returns its record
  // once its last chunk is stored.
  async function settle(take) {
    if (status.take === take) stop();
    await ended[take];
    return getTake(take);
  }

  // drop forgets take's chunks, kept (saved as file, or discarded for
  // ""): the tab may close.
  async function drop(take, file) {
    await forget(take);
    Object.assign(status.takes[take], { kept: file ? "saved" : "discarded", file });
    show();
  }

  // stamp is d as "2026-12-05 15.30.07", local time: a file name's.
  function stamp(d) {
    const p = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " +
      p(d.getHours()) + "." + p(d.getMinutes()) + "." + p(d.getSeconds());
  }

  // paced waits until bytes sent from began fit the pace: IDLE_BPS, or
  // while recording the call's headroom, asked again every PACE_MS of the
  // wait (a chunk of a real 1080p camera is ~1 MB: 8 s at 1 Mb/s, too
  // long to learn of room or trouble only once a chunk).
  async function paced(bytes, began) {
    if (recorder) await pace(false); // the path after the chunk went up
    for (;;) {
      const left = bytes * 8 * 1000 / (recorder ? status.pace : IDLE_BPS) - (performance.now() - began);
      if (left <= 0) return;
      await new Promise((r) => setTimeout(r, Math.min(left, PACE_MS)));
      if (recorder) await pace(true);
    }
  }

  // pace sets the upload's pace while recording by what the call's own
  // sender says of the path (its getStats): tight — a video layer held
  // down for bandwidth, or the round trip grown QUEUE_MS over the least
  // seen, twice in a row — halves it (down to MIN_BPS); room, while the pace is what
  // holds the upload back (held), makes it PACE_UP times faster (up to
  // IDLE_BPS: 1 to 8 Mb/s in 9 s). So the upload grows into what the
  // call leaves of the uplink and backs off before the call does (its
  // frames kept; issue #11).
  async function pace(held) {
    const tight = await callTight();
    if (tight) {
      status.tight++;
      status.pace = Math.max(MIN_BPS, status.pace / 2);
    } else if (held && tight === false) {
      status.pace = Math.min(IDLE_BPS, status.pace * PACE_UP);
    }
  }

  // callTight is whether the call's path is tight: true, false, or null
  // when there is no call to ask (the pace then stays).
  async function callTight() {
    const pc = callPC();
    if (!pc || pc.connectionState !== "connected") return null;
    let stats;
    try { stats = await pc.getStats(); } catch { return null; }
    let limited = false, rtt, sample;
    stats.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video" && s.qualityLimitationReason === "bandwidth") limited = true;
      if (s.type === "transport" && s.selectedCandidatePairId) {
        const pair = stats.get(s.selectedCandidatePairId);
        if (pair && pair.currentRoundTripTime !== undefined) {
          rtt = pair.currentRoundTripTime * 1000;
          sample = pair.responsesReceived;
        }
      }
    });
    if (rttOf !== pc) { rttOf = pc; minRtt = Infinity; rttSample = -1; queued = 0; } // a new call, a new path
    // A queue is two samples in a row over the least: one alone is as
    // likely a busy machine's late answer (seen at load 20: 67 ms over 3).
    if (rtt !== undefined && sample !== rttSample) {
      rttSample = sample;
      minRtt = Math.min(minRtt, rtt);
      queued = rtt > minRtt + QUEUE_MS ? queued + 1 : 0;
    }
    const queue = queued >= 2;
    if (limited || queue) status.why = limited ? "bandwidth" : "round trip " + Math.round(rtt) + " ms, least " + Math.round(minRtt);
    return limited || queue;
  }

  // ---- progress --------------------------------------------------------------

  // pending is whether closing the tab now would lose some of the
  // recording: a take still recording (its next chunks are not made
  // yet), with chunks the studio has not confirmed, or refused by it and
  // not yet saved or discarded by the guest. Not once the studio has
  // every take whole, nor on a page that never recorded.
  function pending() {
    return Object.values(status.takes).some((t) => !t.done && !t.kept);
  }

  // show says where the recording stands: nothing before one ran; while
  // one runs with all but the chunk in hand uploaded, that it records;
  // while chunks wait, how far the upload is and to keep the tab open;
  // once every take is whole at the studio, that it is done (the guest
  // may be waiting to close the tab for that).
  function show() {
    showRefused();
    const el = document.getElementById("upload-note");
    if (!el) return;
    const takes = Object.values(status.takes).filter((t) => !t.refused);
    let total = 0, acked = 0;
    for (const t of takes) { total += t.total; acked += t.acked; }
    el.hidden = !takes.length;
    if (takes.every((t) => t.done)) {
      el.textContent = "Your recording is uploaded: all done.";
    } else if (status.take && acked >= total - 1) {
      el.textContent = "Recording you locally in full quality for the show.";
    } else {
      const pct = total ? Math.floor(acked * 100 / total) : 0;
      el.textContent = "Uploading your recording: " + pct + " % — please keep this tab open until it's done.";
    }
  }

  // showRefused says which takes the studio refused, with a Save and a
  // Discard button for each the guest has not yet kept, and where those
  // saved went. The buttons are made again only when that list changes
  // (show runs with every chunk).
  function showRefused() {
    const el = document.getElementById("refused-note");
    if (!el) return;
    const refused = Object.entries(status.takes).filter(([, t]) => t.refused);
    const now = JSON.stringify(refused.map(([take, t]) => [take, t.kept || ""]));
    if (el.dataset.shown === now) return;
    el.dataset.shown = now;
    el.hidden = !refused.some(([, t]) => t.kept !== "discarded"); // nothing to say of those
    el.replaceChildren();
    const line = (text) => {
      const p = document.createElement("p");
      p.textContent = text;
      el.append(p);
      return p;
    };
    const open = refused.filter(([, t]) => !t.kept);
    el.classList.toggle("problem", open.length > 0);
    if (open.length) {
      line("The studio no longer takes your recording: the show's uploads may have ended a week ago, " +
        "or the host made a new link. Your full-quality copy is only on this computer — " +
        "save it, and send the file to the host if they want it.").prepend(strong("Your recording wasn't uploaded. "));
    }
    for (const [take, t] of refused) {
      if (t.kept === "saved") line("Saved to your downloads: " + t.file + ".");
      if (t.kept) continue;
      const p = line("");
      p.className = "actions";
      p.append(button("Save the recording", "primary", () => save(take)),
        button("Discard it", "", () => discard(take)));
    }
  }

  function strong(text) {
    const s = document.createElement("strong");
    s.textContent = text;
    return s;
  }

  // button runs f once per click, the button disabled meanwhile.
  function button(text, cls, f) {
    const b = document.createElement("button");
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await f();
      } catch (err) {
        status.errors.push("keep: " + err);
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  // Chromium shows its "Leave site?" dialog for this only to a page the
  // guest has clicked in (sticky activation); the returnValue is for
  // browsers that still want one.
  window.addEventListener("beforeunload", (e) => {
    if (!pending()) return;
    e.preventDefault();
    e.returnValue = "Your recording is still uploading.";
  });
  window.addEventListener("online", pump);

  // A page going away (a reload, a closed tab) asks its recorder for what
  // it has encoded since the last slice: the chunk is stored if it comes
  // while the page is still there (see keep). Hidden too: a phone may
  // drop a tab in the background without another word.
  function flush() {
    if (recorder && recorder.state === "recording") recorder.requestData();
  }
  window.addEventListener("beforeunload", flush);
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(); });

  // Takes left by an earlier page (a reload, a closed tab): their
  // recorders are gone, so they are finished; upload what they left.
  (async () => {
    try {
      const takes = await op("takes", "readonly", (s) => s.getAll());
      for (const t of takes) {
        status.takes[t.take] = { total: t.total, acked: 0, done: false };
        t.final = true;
        await putTake(t);
      }
      if (takes.length) pump();
    } catch (err) {
      status.errors.push("open: " + err);
    }
  })();

  window.greenroomLocal = { record, stop, status, save };
})();
