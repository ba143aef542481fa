/*
 * Vidlake player page: drives the <video> with hls.js (native HLS only where MSE is missing, i.e. iOS
 * Safari), shows a storyboard preview while hovering the progress bar, and shows errors on the page.
 *
 * Live streams: the page learns from the playlist that a stream is live (no EXT-X-ENDLIST), shows a LIVE
 * badge (click: jump to the live edge), maps the progress bar to the DVR window and shows how far behind
 * the live edge playback is; when the stream ends the playlist gets EXT-X-ENDLIST and the page turns into
 * a normal VOD player. A live stream (or an asset) that is not playable yet (HTTP 412) is retried every
 * RETRY_MS until it is.
 *
 * State for tests and embedders: window.vidlakePlayer = {
 *   status: "loading" | "waiting" | "ready" | "error", engine: "hls.js" | "native" | null, live: bool,
 *   retries: number,
 *   errors: [{kind, message, detail}], warnings: [...], storyboard: [{start, end, url, x, y, w, h}],
 *   video, hls, previewAt(fraction), monitored: bool }
 *
 * Viewer analytics: when the page carries an environment key (data-env-key), playback is monitored by
 * Mux's mux-embed SDK, whose beacons go to data-beacon-domain (this server's collector, POST /).
 * Times are in seconds; storyboard tile geometry in pixels of the sprite image.
 */
(function () {
  "use strict";

  var root = document.getElementById("vidlake-player");
  var cfg = root.dataset;
  var video = root.querySelector(".vl-video");
  var $ = function (sel) { return root.querySelector(sel); };
  var ui = {
    bigPlay: $(".vl-big-play"), spinner: $(".vl-spinner"), error: $(".vl-error"),
    errorTitle: $(".vl-error-title"), errorDetail: $(".vl-error-detail"), controls: $(".vl-controls"),
    play: $(".vl-play"), progress: $(".vl-progress"), buffered: $(".vl-buffered"), played: $(".vl-played"),
    preview: $(".vl-preview"), previewImage: $(".vl-preview-image"), previewTime: $(".vl-preview-time"),
    time: $(".vl-time"), mute: $(".vl-mute"), fullscreen: $(".vl-fullscreen"), live: $(".vl-live")
  };
  var RETRY_MS = 3000;

  var state = {
    playbackId: cfg.playbackId, status: "loading", engine: null, live: false, retries: 0, errors: [], warnings: [],
    storyboard: [], video: video, hls: null, previewAt: previewAt, monitored: false
  };
  var playerInitTime = Date.now();

  /** Start mux-embed on the video (with the hls.js instance when there is one); once per page. */
  function monitor(hls) {
    if (state.monitored || !cfg.envKey || !window.mux || !window.mux.monitor) { return; }
    var options = {
      debug: false, beaconCollectionDomain: cfg.beaconDomain,
      data: {
        env_key: cfg.envKey, player_name: "Vidlake player", player_version: cfg.version || "",
        player_init_time: playerInitTime, video_id: cfg.videoId || cfg.playbackId,
        video_stream_type: cfg.streamType || "on-demand"
      }
    };
    if (hls) { options.hlsjs = hls; options.Hls = window.Hls; }
    try {
      window.mux.monitor(video, options);
      state.monitored = true;
    } catch (err) {
      state.warnings.push("mux-embed: " + err);
    }
  }
  window.vidlakePlayer = state;

  var autoplay = cfg.autoplay === "1";
  var startTime = parseFloat(cfg.startTime) || 0;
  video.muted = cfg.muted === "1";
  video.defaultMuted = video.muted;
  video.loop = cfg.loop === "1";

  // ---- errors --------------------------------------------------------------------------------------

  function record(kind, message, detail) {
    state.errors.push({ kind: kind, message: message, detail: detail || "" });
  }

  function showError(title, detail) {
    state.status = "error";
    ui.errorTitle.textContent = title;
    ui.errorDetail.textContent = detail || "";
    ui.error.hidden = false;
    ui.spinner.hidden = true;
    ui.bigPlay.hidden = true;
    ui.controls.hidden = true;
  }

  var MEDIA_ERRORS = { 1: "aborted", 2: "network error", 3: "decode error", 4: "format not supported" };

  video.addEventListener("error", function () {
    var e = video.error;
    if (!e) { return; }
    var what = MEDIA_ERRORS[e.code] || "error " + e.code;
    record("video", what, e.message || "");
    // hls.js may recover from media errors on its own; the element error is final for native playback.
    if (state.engine !== "hls.js") { showError("This video could not be played", what); }
  });

  async function errorMessage(resp) {
    try {
      var body = await resp.json();
      if (body && body.error && body.error.messages && body.error.messages.length) {
        return String(body.error.messages[0]);
      }
    } catch (ignored) { /* not JSON */ }
    return "HTTP " + resp.status;
  }

  function titleFor(status) {
    if (status === 404) { return "This video does not exist"; }
    if (status === 412) { return "This video is not ready yet"; }
    if (status === "live-idle") { return "This live stream has not started yet"; }
    if (status === 401 || status === 403) { return "This video needs a valid playback token"; }
    return "This video could not be loaded";
  }

  // ---- playback ------------------------------------------------------------------------------------

  async function start() {
    ui.spinner.hidden = false;
    var resp;
    try {
      resp = await fetch(cfg.src, { credentials: "omit", cache: "no-store" });
    } catch (err) {
      record("network", "could not reach the server", String(err));
      showError("This video could not be loaded", "The server could not be reached.");
      return;
    }
    var why = resp.status === 412 ? await errorMessage(resp) : "";
    if (resp.status === 412 && /errored/.test(why)) {
      record("playback", "This video could not be processed", "412: " + why);
      showError("This video could not be processed", why);
      return;
    }
    if (resp.status === 412) {
      // Not playable yet (an asset still processing, a live stream nobody publishes to): wait and retry.
      state.status = "waiting";
      state.retries += 1;
      ui.errorTitle.textContent = titleFor(/live stream/.test(why) ? "live-idle" : 412);
      ui.errorDetail.textContent = "This page starts playing as soon as it is. (" + why + ")";
      ui.error.hidden = false;
      ui.spinner.hidden = true;
      setTimeout(start, RETRY_MS);
      return;
    }
    ui.error.hidden = true;
    if (!resp.ok) {
      var detail = await errorMessage(resp);
      record("playback", titleFor(resp.status), resp.status + ": " + detail);
      showError(titleFor(resp.status), detail);
      return;
    }
    attach();
    loadStoryboard();
  }

  function attach() {
    if (window.Hls && window.Hls.isSupported()) {
      attachHlsJs();
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      if (!window.Hls) { state.warnings.push("hls.js is missing (run `make`); using native HLS"); }
      state.engine = "native";
      monitor(null);
      video.addEventListener("loadedmetadata", function () {
        setLive(video.duration === Infinity);
        if (startTime > 0) { video.currentTime = startTime; }
      }, { once: true });
      video.src = cfg.src;
      ready();
    } else {
      record("unsupported", "this browser cannot play HLS", window.Hls ? "" : "hls.js is missing");
      showError("This browser cannot play this video", "It supports neither Media Source Extensions nor HLS.");
    }
  }

  function attachHlsJs() {
    var Hls = window.Hls;
    var hls = new Hls({ startPosition: startTime > 0 ? startTime : -1, enableWorker: true });
    var recovered = false;
    state.engine = "hls.js";
    state.hls = hls;
    monitor(hls);
    hls.on(Hls.Events.ERROR, function (_event, data) {
      if (!data.fatal) {
        state.warnings.push(data.type + ": " + data.details);
        return;
      }
      record("hls", data.type + ": " + data.details, data.error ? String(data.error) : "");
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
        recovered = true;
        hls.recoverMediaError();
        return;
      }
      hls.destroy();
      showError("This video could not be played", data.details);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, ready);
    hls.on(Hls.Events.LEVEL_LOADED, function (_event, data) { setLive(!!(data.details && data.details.live)); });
    hls.loadSource(cfg.src);
    hls.attachMedia(video);
  }

  function ready() {
    if (state.status === "error") { return; }
    state.status = "ready";
    ui.spinner.hidden = true;
    if (autoplay) {
      play();
    } else {
      ui.bigPlay.hidden = false;
    }
  }

  function play() {
    var p = video.play();
    if (p && p.catch) {
      p.catch(function (err) {
        // Autoplay refused (usually: not muted, no user gesture): wait for a click.
        state.warnings.push("play() refused: " + err.name);
        ui.bigPlay.hidden = false;
      });
    }
  }

  function toggle() {
    if (state.status !== "ready") { return; }
    if (video.paused || video.ended) { play(); } else { video.pause(); }
  }

  // ---- controls ------------------------------------------------------------------------------------

  function clock(seconds) {
    if (!isFinite(seconds) || seconds < 0) { seconds = 0; }
    var s = Math.floor(seconds);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + sec : m + ":" + sec;
  }

  function duration() {
    return isFinite(video.duration) ? video.duration : 0;
  }

  // ---- live ----------------------------------------------------------------------------------------

  function setLive(live) {
    if (live === state.live) { return; }
    state.live = live;
    root.classList.toggle("vl-live-stream", live);
    ui.live.hidden = !live;
    render();
  }

  /** The seekable window [start, end] in seconds: the DVR window when live, [0, duration] otherwise. */
  function windowRange() {
    if (state.live && video.seekable.length) {
      return [video.seekable.start(0), video.seekable.end(video.seekable.length - 1)];
    }
    return [0, duration()];
  }

  /** The live edge (seconds on the media timeline): where hls.js would sync to, else the seekable end. */
  function liveEdge() {
    if (state.hls && state.hls.liveSyncPosition) { return state.hls.liveSyncPosition; }
    var range = windowRange();
    return range[1];
  }

  /** Seconds behind the live edge (0 when not live). */
  function behindLive() {
    return state.live ? Math.max(0, liveEdge() - video.currentTime) : 0;
  }
  state.behindLive = behindLive;

  ui.live.addEventListener("click", function () {
    if (!state.live) { return; }
    video.currentTime = liveEdge();
    if (video.paused) { play(); }
  });

  function render() {
    var range = windowRange();
    var d = range[1] - range[0];
    var t = video.currentTime - range[0];
    ui.played.style.width = d > 0 ? (100 * Math.min(1, Math.max(0, t / d))) + "%" : "0";
    var end = 0;
    for (var i = 0; i < video.buffered.length; i++) {
      if (video.buffered.start(i) <= video.currentTime + 0.5) { end = Math.max(end, video.buffered.end(i)); }
    }
    ui.buffered.style.width = d > 0 ? (100 * Math.min(1, Math.max(0, (end - range[0]) / d))) + "%" : "0";
    if (state.live) {
      var behind = behindLive();
      var atEdge = behind < 3 * ((state.hls && state.hls.targetDuration) || 2);
      root.classList.toggle("vl-at-live-edge", atEdge);
      ui.time.textContent = atEdge ? "" : "-" + clock(behind);
    } else {
      ui.time.textContent = clock(video.currentTime) + " / " + clock(d);
    }
    ui.progress.setAttribute("aria-valuemax", String(Math.round(d)));
    ui.progress.setAttribute("aria-valuenow", String(Math.round(t)));
    root.classList.toggle("vl-paused", video.paused);
    root.classList.toggle("vl-muted", video.muted);
    ui.play.setAttribute("aria-label", video.paused ? "Play" : "Pause");
    ui.mute.setAttribute("aria-label", video.muted ? "Unmute" : "Mute");
  }

  ["timeupdate", "durationchange", "progress", "play", "pause", "volumechange", "seeked"].forEach(function (name) {
    video.addEventListener(name, render);
  });
  video.addEventListener("playing", function () { ui.bigPlay.hidden = true; ui.spinner.hidden = true; });
  video.addEventListener("waiting", function () { if (state.status === "ready") { ui.spinner.hidden = false; } });

  ui.bigPlay.addEventListener("click", function () { ui.bigPlay.hidden = true; play(); });
  ui.play.addEventListener("click", toggle);
  video.addEventListener("click", toggle);
  ui.mute.addEventListener("click", function () { video.muted = !video.muted; });
  ui.fullscreen.addEventListener("click", function () {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (root.requestFullscreen) {
      root.requestFullscreen().catch(function (err) { state.warnings.push("fullscreen: " + err.name); });
    }
  });

  function fractionAt(event) {
    var box = ui.progress.getBoundingClientRect();
    return box.width ? Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)) : 0;
  }

  ui.progress.addEventListener("click", function (event) {
    var range = windowRange();
    if (range[1] > range[0]) { video.currentTime = range[0] + fractionAt(event) * (range[1] - range[0]); }
  });
  ui.progress.addEventListener("keydown", function (event) {
    var step = event.key === "ArrowRight" ? 5 : event.key === "ArrowLeft" ? -5 : 0;
    var range = windowRange();
    if (step && range[1] > range[0]) {
      video.currentTime = Math.min(range[1], Math.max(range[0], video.currentTime + step));
      event.preventDefault();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === " " && event.target === document.body) { toggle(); event.preventDefault(); }
  });

  var idleTimer = null;
  root.addEventListener("mousemove", function () {
    root.classList.remove("vl-idle");
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { if (!video.paused) { root.classList.add("vl-idle"); } }, 2500);
  });

  // ---- storyboard preview --------------------------------------------------------------------------

  function parseTimestamp(text) {
    var parts = text.trim().split(":").map(parseFloat);
    var seconds = 0;
    for (var i = 0; i < parts.length; i++) { seconds = seconds * 60 + parts[i]; }
    return seconds;
  }

  /** Cues of a storyboard WebVTT: [{start, end, url, x, y, w, h}] (seconds; pixels in the sprite). */
  function parseStoryboard(text, base) {
    var cues = [];
    text.replace(/\r\n?/g, "\n").split(/\n\n+/).forEach(function (block) {
      var lines = block.split("\n").filter(function (l) { return l.trim(); });
      for (var i = 0; i < lines.length - 1; i++) {
        var times = lines[i].split("-->");
        if (times.length !== 2) { continue; }
        var target = lines[i + 1].trim();
        var hash = target.indexOf("#xywh=");
        if (hash < 0) { break; }
        var xywh = target.slice(hash + 6).split(",").map(Number);
        cues.push({
          start: parseTimestamp(times[0]), end: parseTimestamp(times[1].trim().split(/\s+/)[0]),
          url: new URL(target.slice(0, hash), base).href, x: xywh[0], y: xywh[1], w: xywh[2], h: xywh[3]
        });
        break;
      }
    });
    return cues;
  }

  async function loadStoryboard() {
    try {
      var resp = await fetch(cfg.storyboard, { credentials: "omit" });
      if (!resp.ok) { state.warnings.push("storyboard: HTTP " + resp.status); return; }
      state.storyboard = parseStoryboard(await resp.text(), resp.url);
      if (state.storyboard.length) { new Image().src = state.storyboard[0].url; }  // warm the sprite
    } catch (err) {
      state.warnings.push("storyboard: " + err);
    }
  }

  /** Show the preview for a position along the progress bar (0..1); returns the cue shown, or null. */
  function previewAt(fraction) {
    if (state.live) {  // no storyboard while live: the time behind the live edge
      var range = windowRange();
      ui.previewTime.textContent = "-" + clock((1 - fraction) * (range[1] - range[0]));
      ui.preview.style.left = (100 * fraction) + "%";
      ui.previewImage.hidden = true;
      ui.preview.hidden = false;
      return null;
    }
    var d = duration() || (state.storyboard.length ? state.storyboard[state.storyboard.length - 1].end : 0);
    var t = fraction * d;
    ui.previewTime.textContent = clock(t);
    ui.preview.style.left = (100 * fraction) + "%";
    var cue = null;
    for (var i = 0; i < state.storyboard.length; i++) {
      var c = state.storyboard[i];
      if (t >= c.start && t < c.end) { cue = c; break; }
    }
    if (!cue && state.storyboard.length && t >= state.storyboard[state.storyboard.length - 1].start) {
      cue = state.storyboard[state.storyboard.length - 1];
    }
    var img = ui.previewImage;
    if (cue) {
      var scale = Math.min(1, 160 / cue.w);
      img.hidden = false;
      img.style.width = Math.round(cue.w * scale) + "px";
      img.style.height = Math.round(cue.h * scale) + "px";
      img.style.backgroundImage = "url(\"" + cue.url.replace(/"/g, "%22") + "\")";
      img.style.backgroundPosition = (-cue.x * scale) + "px " + (-cue.y * scale) + "px";
      img.style.backgroundSize = scale === 1 ? "auto" : "";
      if (scale !== 1) {
        // Scale the whole sprite so that one tile is 160 px wide; its size is learnt once loaded.
        spriteSize(cue.url, function (w, h) {
          img.style.backgroundSize = (w * scale) + "px " + (h * scale) + "px";
        });
      }
    } else {
      img.hidden = true;
    }
    ui.preview.hidden = false;
    return cue;
  }

  var sprites = {};
  function spriteSize(url, done) {
    if (sprites[url]) { done(sprites[url][0], sprites[url][1]); return; }
    var im = new Image();
    im.onload = function () { sprites[url] = [im.naturalWidth, im.naturalHeight]; done(im.naturalWidth, im.naturalHeight); };
    im.src = url;
  }

  ui.progress.addEventListener("mousemove", function (event) { previewAt(fractionAt(event)); });
  ui.progress.addEventListener("mouseleave", function () { ui.preview.hidden = true; });

  render();
  start();
})();
