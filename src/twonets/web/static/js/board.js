// Keyboard shortcuts of the dispatch board: "/" the filters, j/k the next/previous order,
// "a" the focused order's first action; Enter opens the order (it is a link).
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
    if (ev.key === "/") { ev.preventDefault(); document.getElementById("f-street").focus(); }
    else if (ev.key === "j") { ev.preventDefault(); focusRow(all[Math.min(i + 1, all.length - 1)]); }
    else if (ev.key === "k") { ev.preventDefault(); focusRow(all[Math.max(i - 1, 0)]); }
    else if (ev.key === "a" && tr) {
      var first = tr.querySelector(".row-actions select, .row-actions button, .row-actions a");
      if (first) { ev.preventDefault(); first.focus(); }
    }
  });
})();
