/* Checkpoint registration: a plate typed whole ("京A12345") puts its province abbreviation
   into the picker and keeps the rest in the field, so that the picker shows what will be
   registered; a changed picker then suggests the origin province (the chooser re-reads
   itself through htmx, see checkpoint/_origin.html). Without JavaScript the server does
   the same from the typed plate. */
(function () {
  "use strict";
  function start() {
    var picker = document.getElementById("plate_prefix");
    var plate = document.getElementById("plate");
    if (!picker || !plate) { return; }
    var known = {};
    Array.prototype.forEach.call(picker.options, function (option) {
      if (option.value) { known[option.value] = true; }
    });
    function split() {
      var text = plate.value.replace(/^\s+/, "");
      var head = text.charAt(0);
      if (!known[head]) { return; }
      plate.value = text.slice(1).toUpperCase();
      if (picker.value !== head) {
        picker.value = head;
        picker.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
    plate.addEventListener("change", split);
    plate.addEventListener("blur", split);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
