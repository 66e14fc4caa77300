/* Live panels: an element with data-live="<event stream URL>" listens to the server's
   events and fires the htmx trigger "live" on itself for each of the kinds named in
   data-live-kinds (default: any), so that its hx-get re-reads what it shows. The browser
   reconnects by itself with Last-Event-ID; data-live-ready="1" is set while connected. */
(function () {
  "use strict";
  function follow(el) {
    var source = new EventSource(el.getAttribute("data-live"));
    var kinds = (el.getAttribute("data-live-kinds") || "queue call arrival").split(/\s+/);
    source.onopen = function () { el.setAttribute("data-live-ready", "1"); };
    source.onerror = function () { el.removeAttribute("data-live-ready"); };
    kinds.forEach(function (kind) {
      source.addEventListener(kind, function () {
        if (window.htmx) { window.htmx.trigger(el, "live"); }
      });
    });
  }
  function start() {
    document.querySelectorAll("[data-live]").forEach(follow);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
