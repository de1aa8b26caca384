// The report form's map: the district's own streets (no tiles), a pin where the citizen taps or
// where their phone says they are, and a preview of the chosen photo.
(function () {
  "use strict";
  var el = document.getElementById("report-map");
  if (!el) return;
  var lon = document.getElementById("lon"), lat = document.getElementById("lat");
  var state = document.getElementById("pin-state");
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
  var pin = null, bounds = null, streets = null;

  function say(key) { state.textContent = state.dataset[key]; }

  function inside(latlng) {
    if (!streets) return true;
    var found = false;
    streets.eachLayer(function (layer) {
      if (found || !layer.getBounds().contains(latlng)) return;
      var rings = layer.getLatLngs();
      (Array.isArray(rings[0][0]) ? rings : [rings]).forEach(function (poly) {
        poly.forEach(function (ring) { if (contains(ring, latlng)) found = true; });
      });
    });
    return found;
  }

  function contains(ring, p) {  // ray casting
    var c = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var a = ring[i], b = ring[j];
      if ((a.lat > p.lat) !== (b.lat > p.lat) && p.lng < (b.lng - a.lng) * (p.lat - a.lat) / (b.lat - a.lat) + a.lng) c = !c;
    }
    return c;
  }

  function place(latlng) {
    if (!inside(latlng)) { say("outside"); return; }
    if (pin) pin.setLatLng(latlng);
    else pin = L.circleMarker(latlng, { radius: 10, color: "#111", weight: 3, fillColor: "#d9650b", fillOpacity: 1 }).addTo(map);
    lon.value = latlng.lng.toFixed(6);
    lat.value = latlng.lat.toFixed(6);
    el.dataset.pinned = "1";
    say("set");
  }

  fetch(el.dataset.areas, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (fc) {
    streets = L.geoJSON(fc, { style: function () { return { color: "#4b5d78", weight: 2, fillColor: "#dfe6ef", fillOpacity: 0.6 }; } }).addTo(map);
    bounds = streets.getBounds();
    map.fitBounds(bounds, { padding: [8, 8] });
    streets.on("click", function (e) { place(e.latlng); });
    if (lon.value && lat.value) place(L.latLng(Number(lat.value), Number(lon.value)));
    el.dataset.ready = "1";
    // The communities as thin lines, so that a close-up still shows where one is.
    return fetch(el.dataset.areas + "?level=community", { credentials: "same-origin" }).then(function (r) { return r.json(); });
  }).then(function (fc) {
    if (!fc) return;
    L.geoJSON(fc, { interactive: false, style: function () { return { color: "#8a9ab0", weight: 0.8, fill: false }; } }).addTo(map);
    if (pin) pin.bringToFront();
  });
  map.on("click", function (e) { place(e.latlng); });

  document.getElementById("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { say("denied"); return; }
    say("locating");
    navigator.geolocation.getCurrentPosition(function (pos) {
      var at = L.latLng(pos.coords.latitude, pos.coords.longitude);
      place(at);
      if (el.dataset.pinned) map.setView(at, 15, { animate: false });
    }, function () { say("denied"); }, { enableHighAccuracy: true, timeout: 10000 });
  });

  var photo = document.getElementById("photo"), preview = document.getElementById("photo-preview");
  photo.addEventListener("change", function () {
    var f = photo.files && photo.files[0];
    if (!f) { preview.hidden = true; return; }
    var reader = new FileReader();
    reader.onload = function () { preview.src = reader.result; preview.hidden = false; };
    reader.readAsDataURL(f);
  });
})();
