// The order page's map pin, on the district's own streets (no tiles).
(function () {
  "use strict";
  var el = document.getElementById("pin-map");
  if (!el) return;
  var d = el.dataset;
  var at = [Number(d.lat), Number(d.lon)];
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 }).setView(at, 15);
  var color = getComputedStyle(document.body).getPropertyValue("--" + d.source).trim() || "#1d6fd8";
  fetch(d.areas + "?level=street", { credentials: "same-origin" }).then(function (r) { return r.json(); })
    .then(function (fc) {
      L.geoJSON(fc, { style: function () { return { color: "#5c6f8a", weight: 1.5, fillColor: "#dfe6ef", fillOpacity: 0.5 }; },
        interactive: false }).addTo(map);
      L.circleMarker(at, { radius: 9, color: "#111", weight: 2, fillColor: color, fillOpacity: 1 }).addTo(map);
      el.dataset.ready = "1";
    });
})();
