// The portal's one shared behaviour: a form being sent says so and cannot be sent twice
// (a slow mobile network is the normal case, not the exception).
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var button = e.target.querySelector("button[data-sending]");
    if (!button || e.defaultPrevented) return;
    setTimeout(function () {
      button.dataset.label = button.textContent;
      button.disabled = true;
      button.textContent = button.dataset.sending;
    }, 0);
  });
  window.addEventListener("pageshow", function () {  // back to a page kept in the cache: send again
    document.querySelectorAll("button[data-sending][disabled]").forEach(function (b) {
      b.disabled = false;
      if (b.dataset.label) b.textContent = b.dataset.label;
    });
  });
})();
