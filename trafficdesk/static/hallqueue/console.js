/* The window console: keyboard shortcuts, the no-show confirmation and the service timer.
   The actions themselves are htmx forms (hx-post) that answer with the live panel; without
   JavaScript they are plain forms. Shortcuts: F1 or Space call the next ticket (only when
   nobody is being served: the button is there only then), F2 or R recall, F3 or Enter
   complete, F4 or N no-show (confirmed in a dialog: Enter confirms, Esc cancels). F5 is left
   to the browser; nothing is taken while typing in a field. */
(function () {
  "use strict";
  var KEYS = {
    F1: "call", " ": "call",
    F2: "recall", r: "recall", R: "recall",
    F3: "complete", Enter: "complete",
    F4: "noshow", n: "noshow", N: "noshow"
  };
  var FUNCTION_KEYS = { F1: true, F2: true, F3: true, F4: true };

  function panel() { return document.getElementById("console-live"); }
  function dialog() { return document.getElementById("noshow-dialog"); }

  function typing(target) {
    if (!target || !target.closest) { return false; }
    return Boolean(target.closest("input, select, textarea, [contenteditable]"));
  }

  function activates(target, key) {
    // Space and Enter on a focused button, link or summary are the browser's own.
    if (key !== " " && key !== "Enter") { return false; }
    return Boolean(target && target.closest && target.closest("button, a, summary"));
  }

  function button(name) {
    var root = panel();
    var found = root && root.querySelector('[data-key="' + name + '"]');
    return found && !found.disabled ? found : null;
  }

  function ready(form) {
    // A form swapped in a moment ago may not be wired to htmx yet: wire it now (idempotent).
    if (form && window.htmx) { window.htmx.process(form); }
    return form;
  }

  function onKey(event) {
    var open = dialog();
    if (open && open.open) { return; }
    if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing) { return; }
    var name = KEYS[event.key];
    if (!name || typing(event.target) || activates(event.target, event.key)) { return; }
    var found = button(name);
    if (FUNCTION_KEYS[event.key] || found) { event.preventDefault(); }
    if (found && !event.repeat) {
      ready(found.form);
      found.click();
    }
  }

  // --- the no-show confirmation -----------------------------------------------------------
  var pending = null;

  function askNoShow(form) {
    var box = dialog();
    if (!box || typeof box.showModal !== "function") { return false; }
    pending = form.querySelector('input[name="ticket"]').value;
    var label = box.querySelector("[data-noshow-label]");
    if (label) { label.textContent = form.getAttribute("data-label") || ""; }
    box.returnValue = "";
    box.showModal();
    return true;
  }

  function onSubmit(event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm-dialog]")) { return; }
    if (form.getAttribute("data-confirmed") === "1") { return; }
    if (askNoShow(form)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }

  function onDialogClose() {
    var box = dialog();
    var ticket = pending;
    pending = null;
    if (box.returnValue !== "confirm" || !ticket) { return; }
    var root = panel();
    var form = root && root.querySelector("form[data-confirm-dialog]");
    // The panel may have been re-read meanwhile: act only on the ticket that was confirmed.
    if (!form || form.querySelector('input[name="ticket"]').value !== ticket) { return; }
    form.setAttribute("data-confirmed", "1");
    ready(form).requestSubmit();
  }

  function onDialogKey(event) {
    if (event.key !== "Enter" || event.isComposing) { return; }
    var target = event.target;
    if (target && target.closest && target.closest('button[value="cancel"]')) { return; }
    // Not on to the page's shortcuts: the dialog is closed by the time the key reached the
    // document, and there Enter means "complete".
    event.preventDefault();
    event.stopPropagation();
    dialog().close("confirm");
  }

  // --- the service timer ------------------------------------------------------------------
  function two(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    document.querySelectorAll("[data-timer]").forEach(function (el) {
      if (!el.hasAttribute("data-started")) {
        el.setAttribute("data-started", String(Date.now()));
      }
      var started = Number(el.getAttribute("data-started"));
      var seconds = Number(el.getAttribute("data-elapsed") || 0) +
        Math.max(0, Math.floor((Date.now() - started) / 1000));
      var text = el.querySelector("[data-timer-text]");
      var hours = Math.floor(seconds / 3600);
      var clock = two(Math.floor((seconds % 3600) / 60)) + ":" + two(seconds % 60);
      if (text) { text.textContent = hours ? hours + ":" + clock : clock; }
      var over = seconds > Number(el.getAttribute("data-typical") || 900);
      el.classList.toggle("over", over);
      var note = el.querySelector("[data-timer-over]");
      if (note) { note.hidden = !over; }
    });
  }

  // --- the notice survives a re-read of the panel by the live stream ----------------------
  // (its words and its level: a re-read that lands just after an action's answer must not
  // turn a success or an error into a plain line)
  var lastNotice = null;

  function keepNotice(event) {
    if (event.detail.elt !== panel()) { return; }  // an action answers with its own notice
    var shown = document.getElementById("console-notice");
    if (shown && !shown.textContent.trim() && lastNotice) {
      shown.innerHTML = lastNotice.html;
      shown.className = lastNotice.className;
      if (lastNotice.level) { shown.setAttribute("data-level", lastNotice.level); }
    }
  }

  function noteNotice() {
    var shown = document.getElementById("console-notice");
    if (shown && shown.textContent.trim()) {
      lastNotice = {
        html: shown.innerHTML,
        className: shown.className,
        level: shown.getAttribute("data-level")
      };
    }
  }

  function start() {
    document.addEventListener("keydown", onKey);
    document.addEventListener("submit", onSubmit, true);
    var box = dialog();
    if (box) {
      box.addEventListener("close", onDialogClose);
      box.addEventListener("keydown", onDialogKey);
    }
    // After the settle, not the swap: htmx's settle step puts the new content's class back
    // on an element whose id was already there, which would undo a restored level.
    document.body.addEventListener("htmx:afterSettle", function (event) {
      keepNotice(event);
      noteNotice();
    });
    document.body.addEventListener("htmx:afterSwap", tick);
    noteNotice();
    tick();
    window.setInterval(tick, 1000);
    window.consoleReady = true;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
