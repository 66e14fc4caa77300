/* The hall kiosk (hallqueue/kiosk.html).

   - A barcode or QR scanner acts as a keyboard: whatever has the focus, what it types goes
     into the booking number field, and its Enter submits.
   - The on-screen keys type the booking number (shown as "7KQ4 M2XP").
   - A ticket or a refusal is shown with a countdown; after it (or "Done") the kiosk goes
     back to a clean start screen with location.replace, so nothing of the previous person
     stays in the page or in its history. A half-filled start screen clears itself after a
     minute without a touch.
   - With ?print=1 (data-print="1") each ticket is printed (window.print(); Chromium's
     --kiosk-printing prints without a dialog). */
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.hasAttribute("data-kiosk")) return;

  var startUrl = body.getAttribute("data-start-url") || window.location.pathname;
  var screen = body.getAttribute("data-screen") || "start";
  var resetMs = (Number(body.getAttribute("data-reset-seconds")) || 20) * 1000;
  var idleMs = (Number(body.getAttribute("data-idle-seconds")) || 60) * 1000;
  var token = document.getElementById("token");
  var keypad = document.querySelector("[data-keypad]");
  var NUMBER_LENGTH = 8;
  var SCANNED = /^[0-9A-Za-z:/._\-?=&%#~+]$/;

  var restarting = false;
  function restart() {
    if (restarting) return;
    restarting = true;
    if (token) token.value = "";
    window.location.replace(startUrl);
  }

  // --- the countdown after a ticket or a refusal -------------------------------------------
  var deadline = null;
  var ticker = null;
  var counters = document.querySelectorAll("[data-countdown]");

  function paint() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    for (var i = 0; i < counters.length; i++) counters[i].textContent = String(left);
    if (left <= 0) restart();
  }

  function startCountdown() {
    deadline = Date.now() + resetMs;
    paint();
    ticker = window.setInterval(paint, 250);
    window.setTimeout(function () {
      if (deadline !== null) restart();
    }, resetMs);
  }

  function stopCountdown() {
    if (deadline === null) return;
    deadline = null;
    window.clearInterval(ticker);
    var finish = document.querySelectorAll(".k-refusal .k-finish .k-countdown");
    for (var i = 0; i < finish.length; i++) finish[i].hidden = true;
  }

  var done = document.querySelectorAll("[data-done]");
  for (var d = 0; d < done.length; d++) {
    done[d].addEventListener("click", function (event) {
      event.preventDefault();
      restart();
    });
  }

  // --- a half-filled start screen clears itself ---------------------------------------------
  var lastTouch = Date.now();
  function touched() {
    lastTouch = Date.now();
    if (screen === "refusal") stopCountdown();
  }

  function dirty() {
    if (token && token.value.trim()) return true;
    if (document.querySelector("input[name=business]:checked")) return true;
    var general = document.querySelector("input[name=class][checked]");
    return Boolean(general && !general.checked);
  }

  if (screen !== "ticket") {
    ["pointerdown", "keydown", "input", "change"].forEach(function (kind) {
      document.addEventListener(kind, touched, true);
    });
    window.setInterval(function () {
      if (deadline === null && dirty() && Date.now() - lastTouch >= idleMs) restart();
    }, 1000);
  }

  // --- the scanner and the keys ------------------------------------------------------------
  function tidy(raw) {
    var chars = raw.replace(/[^0-9A-Za-z]/g, "").toUpperCase().slice(0, NUMBER_LENGTH);
    return chars.length > 4 ? chars.slice(0, 4) + " " + chars.slice(4) : chars;
  }

  if (token) {
    if (keypad && keypad.offsetParent !== null) token.setAttribute("inputmode", "none");
    token.focus();
    var end = token.value.length;
    token.setSelectionRange(end, end);

    document.addEventListener("keydown", function (event) {
      if (event.target === token || event.ctrlKey || event.metaKey || event.altKey) return;
      if (!SCANNED.test(event.key)) return;
      event.preventDefault();
      token.focus();
      token.value += event.key;
    });
  }

  if (keypad && token) {
    keypad.addEventListener("click", function (event) {
      var key = event.target.closest("[data-key]");
      if (!key) return;
      var value = key.getAttribute("data-key");
      var current = /[/:]/.test(token.value) ? "" : token.value; // a scanned link is replaced
      if (value === "clear") token.value = "";
      else if (value === "back") token.value = tidy(tidy(current).replace(/ /g, "").slice(0, -1));
      else token.value = tidy(current + value);
      token.focus();
    });
  }

  // --- one ticket per press ----------------------------------------------------------------
  var forms = document.querySelectorAll("form[data-once]");
  for (var f = 0; f < forms.length; f++) {
    forms[f].addEventListener("submit", function (event) {
      if (this.getAttribute("data-sent")) {
        event.preventDefault();
        return;
      }
      this.setAttribute("data-sent", "1");
      var buttons = this.querySelectorAll("button[type=submit]");
      for (var b = 0; b < buttons.length; b++) buttons[b].setAttribute("aria-disabled", "true");
    });
  }

  // Coming back to this page from the browser's cache would show an old ticket: start clean.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && screen !== "start") restart();
  });

  // --- the ticket: print it, then clear the screen ------------------------------------------
  if (screen === "ticket") {
    if (body.getAttribute("data-print") === "1") {
      var printed = function () {
        window.print(); // returns once the ticket is sent to the printer (or the dialog closes)
        startCountdown();
      };
      if (document.readyState === "complete") printed();
      else window.addEventListener("load", printed);
    } else {
      startCountdown();
    }
  } else if (screen === "refusal") {
    startCountdown();
  }
})();
