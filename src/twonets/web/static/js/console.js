// The operation-center wall: district map (Leaflet, the district's own GeoJSON, no tiles),
// open orders and alarms as markers coloured by source, live over SSE; 30-day KPI trends (ECharts).
(function () {
  "use strict";
  var wall = document.getElementById("wall");
  if (!wall) return;
  var d = wall.dataset;
  var css = getComputedStyle(document.body);
  var COLORS = {
    auto: css.getPropertyValue("--auto").trim(),
    proactive: css.getPropertyValue("--proactive").trim(),
    citizen: css.getPropertyValue("--citizen").trim()
  };
  var zh = d.locale === "zh_CN";
  var mapEl = document.getElementById("map");
  var map = L.map(mapEl, { preferCanvas: true, zoomSnap: 0.25, attributionControl: false, keyboard: true });
  var markers = {};

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(url + ": " + r.status); return r.json(); });
  }

  function count() { mapEl.dataset.markerCount = String(Object.keys(markers).length); }

  function place(o) {
    var old = markers[o.id];
    if (old) { map.removeLayer(old); delete markers[o.id]; }
    if (!o.open || o.lon == null) { count(); return; }
    var m = L.circleMarker([o.lat, o.lon], {
      radius: o.severity === "urgent" ? 7 : 5, color: o.flag === "overdue" ? "#ff5a5f" : "#0b1524",
      weight: o.flag === "overdue" ? 2 : 1, fillColor: COLORS[o.source] || "#999", fillOpacity: 0.9
    });
    var box = document.createElement("div");
    box.className = "marker-popup";
    var a = document.createElement("a");
    a.href = d.board + encodeURIComponent(o.id);
    a.textContent = d.tOrder + " " + o.id;
    box.appendChild(a);
    m.bindPopup(box);
    m.addTo(map);
    markers[o.id] = m;
    count();
  }

  function areaStyle(weight, fill) {
    return function () { return { color: "#5c86b8", weight: weight, fillColor: "#17304f", fillOpacity: fill }; };
  }

  getJSON(d.areas + "?level=street").then(function (fc) {
    var streets = L.geoJSON(fc, {
      style: areaStyle(2, 0.35),
      onEachFeature: function (f, layer) {
        layer.bindTooltip(zh ? f.properties.name_zh : f.properties.name_en, { sticky: true });
      }
    }).addTo(map);
    map.fitBounds(streets.getBounds(), { padding: [10, 10] });
    return getJSON(d.areas + "?level=grid");
  }).then(function (fc) {
    L.geoJSON(fc, {
      style: areaStyle(0.4, 0.01),
      onEachFeature: function (f, layer) {
        layer.on("click", function () { showGrid(f.properties.code); });
      }
    }).addTo(map);
    return getJSON(d.markers);
  }).then(function (data) {
    data.orders.forEach(place);
    data.alarms.slice().reverse().forEach(function (a) { addAlarm(a, false); });
    mapEl.dataset.ready = "1";
  }).catch(function (e) { console.error(e); });

  var panel = document.getElementById("grid-panel");
  function showGrid(code) {
    panel.hidden = false;
    htmx.ajax("GET", d.grid + encodeURIComponent(code), { target: panel, swap: "innerHTML" });
  }

  var list = document.getElementById("alarm-list");
  function addAlarm(a, fresh) {
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var li = document.createElement("li");
    if (fresh) li.className = "fresh";
    var title = document.createElement("strong");
    title.textContent = (zh ? a.name_zh : a.name_en) || a.detector;
    var when = document.createElement("span");
    when.className = "when";
    when.textContent = new Date(a.at || a.last_at || a.opened_at).toLocaleTimeString(zh ? "zh-CN" : "en") + " · " + (a.thing_id || "");
    li.appendChild(title);
    li.appendChild(when);
    if (a.order_id) {
      var link = document.createElement("a");
      link.href = d.board + encodeURIComponent(a.order_id);
      link.textContent = d.tOrder + " " + a.order_id;
      li.appendChild(link);
    }
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 30) list.removeChild(list.lastChild);
  }

  function refreshOrder(id) {
    if (!id) return;
    getJSON(d.order + encodeURIComponent(id) + ".json").then(place).catch(function () {});
  }

  var live = document.getElementById("live");
  function connect() {
    var es = new EventSource(d.stream);
    es.onopen = function () { live.dataset.state = "live"; live.textContent = d.tLive; };
    es.onerror = function () { live.dataset.state = "stale"; live.textContent = d.tStale; };
    es.addEventListener("order", function (ev) { refreshOrder(JSON.parse(ev.data).id); });
    es.addEventListener("alarm", function (ev) {
      var a = JSON.parse(ev.data);
      if (a.event === "fire") addAlarm(a, true);
      refreshOrder(a.order_id);
    });
  }
  connect();

  var openEl = document.getElementById("open-chart");
  if (openEl) {
    var oc = JSON.parse(openEl.dataset.chart);
    var bar = echarts.init(openEl, null, { renderer: "canvas" });
    bar.setOption({
      animation: false, grid: { left: 70, right: 10, top: 28, bottom: 20 },
      legend: { top: 0, textStyle: { color: "#e6edf6", fontSize: 13 } },
      xAxis: { type: "value", axisLabel: { color: "#a9b8cc" }, splitLine: { lineStyle: { color: "#25405f" } } },
      yAxis: { type: "category", data: oc.statuses, inverse: true, axisLabel: { color: "#e6edf6", fontSize: 13 } },
      tooltip: { trigger: "axis", renderMode: "richText" },
      series: oc.series.map(function (s) {
        return { type: "bar", stack: "open", name: s.name, data: s.data, itemStyle: { color: COLORS[s.source] } };
      })
    });
    openEl.dataset.ready = "1";
    window.addEventListener("resize", function () { bar.resize(); });
  }

  getJSON(d.trends).then(function (t) {
    Object.keys(t.series).forEach(function (field) {
      var el = document.getElementById("spark-" + field);
      if (!el) return;
      var chart = echarts.init(el, null, { renderer: "canvas" });
      var target = t.targets[field];
      var series = [{ type: "line", data: t.series[field], showSymbol: true, symbolSize: 5, connectNulls: true, itemStyle: { color: "#8cc2ff" },
        lineStyle: { width: 2, color: "#8cc2ff" }, areaStyle: { color: "rgba(140,194,255,0.15)" } }];
      if (target != null) {
        series[0].markLine = { silent: true, symbol: "none", label: { show: false },
          lineStyle: { color: "#ffc24b", type: "dashed" }, data: [{ yAxis: target }] };
      }
      chart.setOption({
        animation: false, grid: { left: 2, right: 2, top: 6, bottom: 2 },
        xAxis: { type: "category", data: t.days, show: false },
        yAxis: { type: "value", show: false, scale: true },
        tooltip: { trigger: "axis", renderMode: "richText" },
        series: series
      });
      el.dataset.points = String(t.series[field].length);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }).catch(function (e) { console.error(e); });
})();
