/* The hall's call display (hallqueue/board.html).
 *
 * Calls arrive on the hall's event stream (EventSource; it resumes with Last-Event-ID). Each
 * call goes large at once with a highlight; the previous few stay large beside it, so four
 * windows calling within seconds are all on screen. Announcements are queued and played one
 * after another: a chime, then the call in Chinese (the browser's Chinese voice, else the
 * pre-rendered clips of each word), then in English where the hall asks for it. When the
 * browser blocks sound until someone touches the screen, a large "turn on sound" button
 * appears; one tap unlocks it. "queue" and "call" events make the board re-read its windows
 * and waiting panels (one small fragment, shared by every board that saw the same event).
 *
 * For tests and for support: window.boardAnnouncements lists every announcement with what
 * was said and how (chime: played / blocked / failed; voice: speech / clips / blocked / none),
 * and <body data-audio> is "ready" or "blocked".
 */
(function () {
  "use strict";

  var body = document.body;
  var ds = body.dataset;
  var clips = JSON.parse(document.getElementById("board-clips").textContent);
  var lang = document.documentElement.lang || "zh-hans";
  var english = ds.english === "1";
  var LATEST = 3; // calls shown large beside the current one
  var RECENT = 10; // rows of the latest calls
  var NEW_MS = 8000; // how long a new call keeps its highlight

  var now = document.getElementById("now");
  var latest = document.getElementById("latest");
  var recent = document.getElementById("recent");
  var stateBox = document.getElementById("board-state");
  var soundOn = document.getElementById("sound-on");

  window.boardReady = false;
  window.boardCalls = 0;
  window.boardAnnouncements = [];

  /* --- clock ------------------------------------------------------------------------------ */

  var offset = Number(ds.serverMs) ? Number(ds.serverMs) - Date.now() : 0;

  function formatter(options) {
    var locale = lang.toLowerCase().indexOf("zh") === 0 ? "zh-CN" : "en-GB";
    try {
      return new Intl.DateTimeFormat(locale, Object.assign({ timeZone: ds.timeZone }, options));
    } catch (error) {
      return new Intl.DateTimeFormat(locale, options);
    }
  }

  var timeFormat = formatter({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  var dateFormat = formatter({ year: "numeric", month: "long", day: "numeric", weekday: "long" });
  var clockTime = document.getElementById("clock-time");
  var clockDate = document.getElementById("clock-date");

  function tick() {
    var moment = new Date(Date.now() + offset);
    clockTime.textContent = timeFormat.format(moment);
    clockDate.textContent = dateFormat.format(moment);
    setTimeout(tick, 1000 - (moment.getTime() % 1000) + 20);
  }
  tick();

  /* --- what the board shows --------------------------------------------------------------- */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function badge(call) {
    var node = el("span", "badge", ds.recallText);
    node.setAttribute("data-testid", "recall");
    return node;
  }

  /** "A001 → 3" (+ 重呼), the same text as the rows the server renders. */
  function callRow(tag, call, withSpans) {
    var node = el(tag);
    node.setAttribute("data-label", call.label);
    if (call.call) node.setAttribute("data-call", call.call);
    if (withSpans) {
      node.appendChild(el("span", "label", call.label));
      node.appendChild(document.createTextNode(" "));
      node.appendChild(el("span", "arrow", "→"));
      node.appendChild(document.createTextNode(" "));
      node.appendChild(el("span", "window", String(call.window)));
    } else {
      node.appendChild(document.createTextNode(call.label + " → " + call.window));
    }
    if (call.recall) {
      node.appendChild(document.createTextNode(" "));
      node.appendChild(badge(call));
    }
    return node;
  }

  function sentence(call) {
    return ds.sentence.replace("{label}", call.label).replace("{window}", String(call.window));
  }

  function flash(node) {
    node.classList.remove("is-new");
    void node.offsetWidth; // restart the animation
    node.classList.add("is-new");
    clearTimeout(node.newTimer);
    node.newTimer = setTimeout(function () {
      node.classList.remove("is-new");
    }, NEW_MS);
  }

  function withoutLabel(list, label) {
    Array.prototype.forEach.call(list.querySelectorAll("li"), function (item) {
      if (item.getAttribute("data-label") === label) list.removeChild(item);
    });
  }

  function trim(list, size) {
    while (list.children.length > size) list.removeChild(list.lastChild);
  }

  function showNow(call) {
    var previous = now.getAttribute("data-label");
    if (previous && previous !== call.label && now.current) {
      var moved = callRow("li", now.current, true);
      latest.insertBefore(moved, latest.firstChild);
    }
    withoutLabel(latest, call.label);
    trim(latest, LATEST);
    now.textContent = "";
    var main = el("div", "now-main");
    main.appendChild(el("span", "now-label", call.label));
    main.appendChild(document.createTextNode(" "));
    var where = el("span", "now-where");
    where.appendChild(el("span", "arrow", "→"));
    where.appendChild(document.createTextNode(" "));
    where.appendChild(el("span", "now-window", String(call.window)));
    where.appendChild(document.createTextNode(" "));
    where.appendChild(el("span", "unit", now.getAttribute("data-unit") || ""));
    main.appendChild(where);
    if (call.recall) {
      main.appendChild(document.createTextNode(" "));
      main.appendChild(badge(call));
    }
    now.appendChild(main);
    now.appendChild(el("p", "now-sentence", sentence(call)));
    now.setAttribute("data-label", call.label);
    now.setAttribute("data-recall", call.recall ? "1" : "0");
    now.current = call;
    flash(now);
  }

  function showRecent(call) {
    withoutLabel(recent, call.label);
    recent.insertBefore(callRow("li", call, false), recent.firstChild);
    trim(recent, RECENT);
  }

  /** The window's tile serves this ticket now (the state fragment that follows confirms). */
  function showServing(call) {
    var tiles = stateBox.querySelectorAll("[data-window]");
    Array.prototype.forEach.call(tiles, function (tile) {
      var serving = tile.querySelector(".win-now");
      if (String(tile.getAttribute("data-window")) === String(call.window)) {
        if (tile.getAttribute("data-open") === "1" && serving) {
          serving.textContent = call.label;
          serving.className = "win-now";
          tile.setAttribute("data-serving", call.label);
        }
      }
    });
  }

  if (now.getAttribute("data-label")) {
    // the call the server rendered: it moves aside when the next one comes
    now.current = {
      label: now.getAttribute("data-label"),
      window: now.getAttribute("data-window"),
      recall: now.getAttribute("data-recall") === "1",
    };
  }

  function onCall(call) {
    window.boardCalls += 1;
    window.lastSpoken = call.speech;
    showNow(call);
    showRecent(call);
    showServing(call);
    announce(call);
  }

  /* --- the windows and waiting panels ----------------------------------------------------- */

  var lastVersion = 0;
  var refreshTimer = null;
  var fetching = false;
  var again = false;

  function refreshSoon(version) {
    if (Number(version) > lastVersion) lastVersion = Number(version);
    clearTimeout(refreshTimer);
    // a burst of events: one read; many TVs of one hall spread their reads over a second
    refreshTimer = setTimeout(refresh, 250 + Math.floor(Math.random() * 750));
  }

  function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    fetch(ds.stateUrl + "?v=" + lastVersion, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        stateBox.innerHTML = html; // the server's own fragment
      })
      .catch(function () {})
      .then(function () {
        fetching = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  setInterval(refresh, 60000); // a slow safety net: closed windows, the day's rollover

  /* --- the notice line -------------------------------------------------------------------- */

  var notice = document.getElementById("notice");
  var noticeText = document.getElementById("notice-text");

  function setNotice(text) {
    noticeText.textContent = text || "";
    notice.hidden = !text;
    noticeText.style.setProperty("--marquee", Math.max(12, 8 + (text || "").length * 0.4) + "s");
  }
  setNotice(noticeText.textContent.trim());

  /* --- sound ------------------------------------------------------------------------------ */

  var Context = window.AudioContext || window.webkitAudioContext;
  var audio = null;
  try {
    audio = Context ? new Context() : null;
  } catch (error) {
    audio = null;
  }
  var buffers = {};

  function setAudio(state) {
    ds.audio = state;
    soundOn.hidden = state !== "blocked";
  }

  function running() {
    return audio !== null && audio.state === "running";
  }

  function wait(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  function load(name) {
    if (!buffers[name]) {
      buffers[name] = fetch(ds.sounds + name + ".ogg")
        .then(function (response) {
          if (!response.ok) throw new Error(name);
          return response.arrayBuffer();
        })
        .then(function (data) {
          return new Promise(function (resolve, reject) {
            audio.decodeAudioData(data, resolve, reject);
          });
        });
      buffers[name].catch(function () {
        delete buffers[name];
      });
    }
    return buffers[name];
  }

  /** Play the clips one after another, without gaps; resolves when the last has ended. */
  function playClips(names) {
    return Promise.all(names.map(load)).then(function (decoded) {
      if (!running()) throw new Error("blocked");
      var at = audio.currentTime + 0.05;
      decoded.forEach(function (buffer) {
        var source = audio.createBufferSource();
        source.buffer = buffer;
        source.connect(audio.destination);
        source.start(at);
        at += buffer.duration;
      });
      return wait((at - audio.currentTime) * 1000 + 100);
    });
  }

  /** The chime: Web Audio when the page may play sound, else an <audio> element (whose
   * play() is refused while sound is blocked). */
  function chime(entry) {
    if (audio !== null) {
      if (!running()) {
        load("chime").catch(function () {});
        entry.chime = "blocked";
        setAudio("blocked");
        return Promise.resolve();
      }
      return playClips(["chime"]).then(
        function () {
          entry.chime = "played";
        },
        function () {
          entry.chime = "failed";
        }
      );
    }
    var element = new Audio(ds.sounds + "chime.ogg");
    return element.play().then(
      function () {
        entry.chime = "played";
        return wait(1200);
      },
      function (error) {
        entry.chime = error && error.name === "NotAllowedError" ? "blocked" : "failed";
        if (entry.chime === "blocked") setAudio("blocked");
      }
    );
  }

  function voiceFor(prefix) {
    if (!window.speechSynthesis) return null;
    var voices = window.speechSynthesis.getVoices() || [];
    var wanted = prefix === "zh" ? /^(zh|cmn)([-_](cn|hans|sg))?/i : /^en/i;
    var exact = voices.filter(function (v) {
      return prefix === "zh" ? /^zh[-_]cn$/i.test(v.lang) : /^en[-_](gb|us)$/i.test(v.lang);
    });
    return exact[0] || voices.filter(function (v) { return wanted.test(v.lang); })[0] || null;
  }

  function speak(text, voice) {
    return new Promise(function (resolve) {
      var finished = false;
      function finish(outcome) {
        if (!finished) {
          finished = true;
          resolve(outcome);
        }
      }
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.rate = 0.9;
      utterance.onend = function () { finish("speech"); };
      utterance.onerror = function (event) {
        finish(event.error === "not-allowed" ? "blocked" : "failed");
      };
      setTimeout(function () { finish("speech"); }, 3000 + text.length * 300); // engines that never end
      window.speechSynthesis.speak(utterance);
    });
  }

  function zhClips(spoken) {
    return spoken.split(/\s+/).map(function (word) { return clips.zh[word]; }).filter(Boolean);
  }

  function enClips(spoken) {
    var parts = /^Number (.+), please go to window (\d+)$/.exec(spoken);
    if (!parts) return [];
    var words = ["Number"].concat(parts[1].split(" "), ["please go to window"], parts[2].split(""));
    return words.map(function (word) { return clips.en[word]; }).filter(Boolean);
  }

  /** Say `spoken` with the browser's voice for the language, else with the clips. */
  function say(entry, spoken, prefix) {
    var voice = voiceFor(prefix);
    if (voice !== null) {
      return speak(spoken, voice).then(function (outcome) {
        if (outcome === "blocked") setAudio("blocked");
        return outcome;
      });
    }
    if (!running()) return Promise.resolve(audio !== null ? "blocked" : "none");
    var names = prefix === "zh" ? zhClips(spoken) : enClips(spoken);
    entry.clips = (entry.clips || []).concat(names);
    return playClips(names).then(
      function () { return "clips"; },
      function () { return "failed"; }
    );
  }

  var queue = [];
  var playing = false;

  function announce(call) {
    var entry = {
      call: call.call,
      label: call.label,
      window: call.window,
      recall: !!call.recall,
      text: call.speech,
      spoken: call.spoken || call.speech,
      english: english && call.spoken_en ? call.spoken_en : "",
      chime: "pending",
      voice: "pending",
      state: "queued",
    };
    window.boardAnnouncements.push(entry);
    queue.push(entry);
    pump();
  }

  function highlight(label, on) {
    [now].concat(Array.prototype.slice.call(latest.children)).forEach(function (node) {
      if (node.getAttribute("data-label") === label) node.classList.toggle("speaking", on);
    });
  }

  function pump() {
    if (playing || queue.length === 0) return;
    playing = true;
    var entry = queue.shift();
    entry.state = "playing";
    highlight(entry.label, true);
    chime(entry)
      .then(function () { return say(entry, entry.spoken, "zh"); })
      .then(function (outcome) {
        entry.voice = outcome;
        if (!entry.english || outcome === "blocked") return null;
        return say(entry, entry.english, "en").then(function (en) { entry.voiceEn = en; });
      })
      .catch(function () { entry.voice = entry.voice === "pending" ? "failed" : entry.voice; })
      .then(function () {
        return wait(entry.voice === "blocked" || entry.voice === "none" ? 1500 : 600);
      })
      .then(function () {
        entry.state = "done";
        highlight(entry.label, false);
        playing = false;
        pump();
      });
  }

  /** Detect a browser that keeps sound off until someone taps the screen. */
  function checkAutoplay() {
    if (audio === null) {
      setAudio(window.speechSynthesis ? "ready" : "none");
      return;
    }
    if (running()) {
      setAudio("ready");
      return;
    }
    var resumed = audio.resume ? audio.resume() : null;
    if (resumed && resumed.then) resumed.then(function () { if (running()) setAudio("ready"); }, function () {});
    setTimeout(function () { setAudio(running() ? "ready" : "blocked"); }, 400);
  }

  soundOn.addEventListener("click", function () {
    if (window.speechSynthesis) {
      window.speechSynthesis.speak(new SpeechSynthesisUtterance(" ")); // unlocks speech too
    }
    var resumed = audio !== null ? audio.resume() : Promise.resolve();
    Promise.resolve(resumed).then(function () {
      setAudio(audio === null || running() ? "ready" : "blocked");
      if (running()) playClips(["chime"]).catch(function () {}); // "sound is on"
    });
  });

  if (window.speechSynthesis && window.speechSynthesis.addEventListener) {
    window.speechSynthesis.addEventListener("voiceschanged", function () {});
    window.speechSynthesis.getVoices(); // starts loading the voices
  }
  checkAutoplay();

  /* --- the stream ------------------------------------------------------------------------- */

  var source = new EventSource(ds.eventsUrl);
  source.onopen = function () {
    window.boardReady = true;
  };
  source.addEventListener("call", function (event) {
    onCall(JSON.parse(event.data));
    refreshSoon(event.lastEventId);
  });
  source.addEventListener("queue", function (event) {
    refreshSoon(event.lastEventId);
  });
  source.addEventListener("board", function (event) {
    var data = JSON.parse(event.data);
    setNotice(data.notice || "");
    if ("speaks_english" in data) english = !!data.speaks_english;
    else if ("english" in data) english = !!data.english;
  });
})();
