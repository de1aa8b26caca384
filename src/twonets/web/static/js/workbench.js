// Keyboard of the workbench and the review queue: j/k the next/previous row, "a" the focused
// row's first action, "/" the first filter; Enter opens the row (its first cell is a link).
(function () {
  "use strict";
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tbody tr[id^='row-']")); }
  function current() {
    var el = document.activeElement;
    return el && el.closest ? el.closest("tr[id^='row-']") : null;
  }
  function focusRow(tr) { if (tr) { var a = tr.querySelector("td a"); if (a) a.focus(); } }
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target.tagName || "").toLowerCase();
    if (ev.ctrlKey || ev.metaKey || ev.altKey || tag === "input" || tag === "select" || tag === "textarea") return;
    var all = rows(), tr = current(), i = tr ? all.indexOf(tr) : -1;
    if (ev.key === "/") {
      var first = document.querySelector(".filters select, .filters input:not([type=hidden])");
      if (first) { ev.preventDefault(); first.focus(); }
    }
    else if (ev.key === "j") { ev.preventDefault(); focusRow(all[Math.min(i + 1, all.length - 1)]); }
    else if (ev.key === "k") { ev.preventDefault(); focusRow(all[Math.max(i - 1, 0)]); }
    else if (ev.key === "a" && tr) {
      var act = tr.querySelector(".row-actions button, .row-actions a");
      if (act) { ev.preventDefault(); act.focus(); }
    }
  });
})();
