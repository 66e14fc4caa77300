// Behaviour for every page, kept out of the markup so that the Content-Security-Policy can
// forbid inline scripts and event handlers.
(function () {
  "use strict";
  // The language switch submits on change, back to this page.
  document.querySelectorAll("select[data-autosubmit-language]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.next.value = location.pathname + location.search;
      select.form.submit();
    });
  });
  // A draw page counts applications live while it is open.
  document.querySelectorAll("[data-rush-events]").forEach(function (el) {
    var source = new EventSource(el.getAttribute("data-rush-events"));
    source.addEventListener("counts", function (event) {
      var data = JSON.parse(event.data);
      document.querySelectorAll("[data-count]").forEach(function (counter) {
        var value = data[counter.getAttribute("data-count")];
        if (value !== undefined) { counter.textContent = value; }
      });
    });
  });
})();
