/* Viewer: water level (triangles rasterised into a canvas, values interpolated inside each), currents (arrows), maxima, time slider and
   play button; station / point time series with uPlot (at tide gauges with the gauge's harmonic prediction, MHWS and HAT, above
   MSL or chart datum), and the current there (speed and direction); time axes in UTC, 24-hour clock, ISO dates. Data: the JSON
   API (docs/api.md). */
(function () {
  "use strict";
  const el = document.getElementById("viewer");
  const ds = el.dataset;
  const map = coastcast.makeMap("view-map", { deferCoastline: true });
  window._viewMap = map;  // for the browser tests, as wizard_region.js's _regionMap
  const slider = document.getElementById("time");
  const label = document.getElementById("time-label");
  const layerSel = document.getElementById("layer");
  const playBtn = document.getElementById("play");
  const legend = document.getElementById("legend");
  let mesh = null, frame = null, maxData = null, mode = "frame", playing = null;
  const frames = new Map();
  const NCOL = 64;

  // Palettes: diverging blue-white-red for water level, sequential for speed.
  function lerp(a, b, t) { return Math.round(a + (b - a) * t); }
  function ramp(stops) {
    const out = [];
    for (let i = 0; i < NCOL; i++) {
      const t = i / (NCOL - 1) * (stops.length - 1), k = Math.min(Math.floor(t), stops.length - 2), f = t - k;
      const a = stops[k], b = stops[k + 1];
      out.push("rgb(" + lerp(a[0], b[0], f) + "," + lerp(a[1], b[1], f) + "," + lerp(a[2], b[2], f) + ")");
    }
    return out;
  }
  const S_DIV = [[33, 102, 172], [103, 169, 207], [247, 247, 247], [239, 138, 98], [178, 24, 43]];
  const S_WARM = [[255, 255, 178], [254, 204, 92], [253, 141, 60], [240, 59, 32], [189, 0, 38]];
  const S_SEQ = [[255, 255, 204], [161, 218, 180], [65, 182, 196], [44, 127, 184], [37, 52, 148]];
  const DIVERGING = ramp(S_DIV), WARM = ramp(S_WARM), SEQUENTIAL = ramp(S_SEQ);

  function fmtTime(s) { return new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC"; }

  const FieldLayer = L.Layer.extend({
    onAdd: function (m) {
      this._canvas = L.DomUtil.create("canvas", "leaflet-zoom-hide field-canvas");
      m.getPanes().overlayPane.appendChild(this._canvas);
      m.on("moveend zoomend resize viewreset", this._reset, this);
      this._reset();
    },
    onRemove: function (m) { this._canvas.remove(); m.off("moveend zoomend resize viewreset", this._reset, this); },
    _reset: function () {
      const m = this._map, size = m.getSize(), dpr = window.devicePixelRatio || 1;
      const c = this._canvas;
      L.DomUtil.setPosition(c, m.containerPointToLayerPoint([0, 0]));
      c.width = size.x * dpr; c.height = size.y * dpr; c.style.width = size.x + "px"; c.style.height = size.y + "px";
      this._dpr = dpr;
      this.redraw();
    },
    redraw: function () { if (this._map && mesh) draw(this._canvas, this._dpr); },
  });
  const field = new FieldLayer();

  let proj = null, projZoom = null;
  function project() {  // node positions in world pixels at the current zoom (cached per zoom)
    const z = map.getZoom();
    if (proj && projZoom === z) return proj;
    const n = mesh.lon.length; proj = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const p = map.project([mesh.lat[i], mesh.lon[i]], z);
      proj[2 * i] = p.x; proj[2 * i + 1] = p.y;
    }
    projZoom = z; return proj;
  }

  function currentValues() {
    if (mode === "frame") return { values: frame && frame.zeta, range: symmetric(mesh.zeta_min, mesh.zeta_max), pal: DIVERGING, stops: S_DIV, unit: "m", title: "water level" };
    if (mode === "zeta_max") { const r = maxData.zeta_max_range || [0, 1]; return { values: maxData.zeta_max, range: [r[0], Math.max(r[1], r[0] + 1e-3)], pal: WARM, stops: S_WARM, unit: "m", title: "maximum water level" }; }
    const r = maxData.speed_max_range || [0, 1];
    return { values: maxData.speed_max, range: [0, Math.max(r[1], 1e-6)], pal: SEQUENTIAL, stops: S_SEQ, unit: "m/s", title: "maximum current speed" };
  }
  function symmetric(a, b) { const m = Math.max(Math.abs(a), Math.abs(b), 1e-3); return [-m, m]; }

  // 256-entry colour tables packed as RGBA words (little-endian: 0xAABBGGRR) for the rasteriser.
  const LUTS = new Map();
  function lut(stops) {
    if (LUTS.has(stops)) return LUTS.get(stops);
    const t = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      const x = i / 255 * (stops.length - 1), k = Math.min(Math.floor(x), stops.length - 2), f = x - k;
      const a = stops[k], b = stops[k + 1];
      t[i] = (255 << 24 | lerp(a[2], b[2], f) << 16 | lerp(a[1], b[1], f) << 8 | lerp(a[0], b[0], f)) >>> 0;
    }
    LUTS.set(stops, t);
    return t;
  }

  // Fill every triangle pixel by pixel, interpolating node values linearly (barycentric weights);
  // much faster than canvas paths in software-rendered browsers and smooth like the P1 field.
  function raster(ctx, W, H, s, P, ox, oy, vals, lo, span, table, onFace) {
    const img = ctx.createImageData(W, H), buf = new Uint32Array(img.data.buffer);
    const tri = mesh.triangles, nf = tri.length / 3, scale = 255 / span;
    for (let f = 0; f < nf; f++) {
      const a = tri[3 * f], b = tri[3 * f + 1], c = tri[3 * f + 2];
      let va, vb, vc;
      if (onFace) { va = vb = vc = vals[f]; if (va === null) continue; }
      else { va = vals[a]; vb = vals[b]; vc = vals[c]; if (va === null || vb === null || vc === null) continue; }
      const ax = (P[2 * a] - ox) * s, ay = (P[2 * a + 1] - oy) * s, bx = (P[2 * b] - ox) * s, by = (P[2 * b + 1] - oy) * s;
      const cx = (P[2 * c] - ox) * s, cy = (P[2 * c + 1] - oy) * s;
      const x0 = Math.max(0, Math.floor(Math.min(ax, bx, cx))), x1 = Math.min(W - 1, Math.ceil(Math.max(ax, bx, cx)));
      const y0 = Math.max(0, Math.floor(Math.min(ay, by, cy))), y1 = Math.min(H - 1, Math.ceil(Math.max(ay, by, cy)));
      if (x0 > x1 || y0 > y1) continue;
      const area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
      if (area === 0) continue;
      const inv = 1 / area, eps = -1e-6;
      for (let y = y0; y <= y1; y++) {
        const py = y + 0.5, row = y * W;
        for (let x = x0; x <= x1; x++) {
          const px = x + 0.5;
          const w0 = ((bx - px) * (cy - py) - (by - py) * (cx - px)) * inv;
          if (w0 < eps) continue;
          const w1 = ((cx - px) * (ay - py) - (cy - py) * (ax - px)) * inv;
          if (w1 < eps) continue;
          const w2 = 1 - w0 - w1;
          if (w2 < eps) continue;
          let k = ((w0 * va + w1 * vb + w2 * vc - lo) * scale) | 0;
          buf[row + x] = table[k < 0 ? 0 : k > 255 ? 255 : k];
        }
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  function draw(canvas, dpr) {
    // A hidden map (another tab shown, the window being resized) has no pixels to paint; the
    // layer repaints on the resize event that shows it again.
    if (!(canvas.width > 0 && canvas.height > 0)) return;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const size = map.getSize();
    const cv = currentValues();
    if (!cv.values) return;
    const P = project();
    const off = map.getPixelOrigin(), lp = map.containerPointToLayerPoint([0, 0]);
    const ox = off.x + lp.x, oy = off.y + lp.y;
    raster(ctx, canvas.width, canvas.height, dpr, P, ox, oy, cv.values, cv.range[0], cv.range[1] - cv.range[0] || 1,
           lut(cv.stops), mesh.location === "face");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (mode === "frame" && frame.u && frame.v && mesh.location !== "face") drawArrows(ctx, P, ox, oy, size);
    drawLegend(cv);
  }

  function drawArrows(ctx, P, ox, oy, size) {
    const cell = 34, gx = Math.ceil(size.x / cell), gy = Math.ceil(size.y / cell);
    const pick = new Int32Array(gx * gy).fill(-1);
    const n = mesh.lon.length;
    for (let i = 0; i < n; i++) {
      const x = P[2 * i] - ox, y = P[2 * i + 1] - oy;
      if (x < 0 || y < 0 || x >= size.x || y >= size.y || frame.u[i] === null) continue;
      const k = Math.floor(y / cell) * gx + Math.floor(x / cell);
      if (pick[k] < 0) pick[k] = i;
    }
    const smax = Math.max(mesh.speed_max || 0, 1e-6);
    ctx.strokeStyle = "#111"; ctx.fillStyle = "#111"; ctx.lineWidth = 1.2;
    ctx.beginPath();
    for (let k = 0; k < pick.length; k++) {
      const i = pick[k]; if (i < 0) continue;
      const u = frame.u[i], v = frame.v[i], s = Math.hypot(u, v); if (!(s > 0.01 * smax)) continue;
      const len = 4 + (cell - 8) * Math.min(1, s / smax), dx = u / s * len, dy = -v / s * len;
      const x0 = P[2 * i] - ox - dx / 2, y0 = P[2 * i + 1] - oy - dy / 2, x1 = x0 + dx, y1 = y0 + dy;
      ctx.moveTo(x0, y0); ctx.lineTo(x1, y1);
      const hx = dx / len * 4, hy = dy / len * 4;
      ctx.moveTo(x1, y1); ctx.lineTo(x1 - hx - hy * 0.6, y1 - hy + hx * 0.6);
      ctx.moveTo(x1, y1); ctx.lineTo(x1 - hx + hy * 0.6, y1 - hy - hx * 0.6);
    }
    ctx.stroke();
  }

  function drawLegend(cv) {
    legend.innerHTML = "";
    const lab = (x) => { const s = document.createElement("span"); s.textContent = x; return s; };
    const bar = document.createElement("span"); bar.className = "bar";
    bar.style.background = "linear-gradient(to right," + cv.pal.filter((_, i) => i % 8 === 0 || i === NCOL - 1).join(",") + ")";
    legend.append(lab(cv.title + ":"), lab(cv.range[0].toFixed(2)), bar, lab(cv.range[1].toFixed(2) + " " + cv.unit));
    if (mode === "frame" && mesh.has_velocity) legend.append(lab("· arrows: currents, longest = " + (mesh.speed_max || 0).toFixed(2) + " m/s"));
  }

  function getFrame(i) {
    if (frames.has(i)) return frames.get(i);
    const p = fetch(ds.frame + i).then((r) => { if (!r.ok) throw new Error("frame " + i + ": HTTP " + r.status); return r.json(); });
    frames.set(i, p);
    return p;
  }
  function show(i) {
    return getFrame(i).then((f) => {
      if (+slider.value !== i) return;
      frame = f;
      label.textContent = fmtTime(f.time) + " (+" + Math.round((f.time - mesh.times[0]) / 3600) + " h)";
      field.redraw();
      chartCursor(f.time);
    });
  }

  // --- first frame: mesh and frame 0 in parallel ---
  const firstFrame = Promise.all([fetch(ds.mesh).then((r) => r.json()), getFrame(0)]).then(([m, f0]) => {
    window.coastcastDataMs = performance.now();
    mesh = m; frame = f0;
    slider.max = m.times.length - 1; slider.value = 0;
    map.fitBounds([[m.bbox[1], m.bbox[0]], [m.bbox[3], m.bbox[2]]], { animate: false });
    field.addTo(map);
    label.textContent = fmtTime(f0.time) + " (+0 h)";
    window.coastcastFirstFrameMs = performance.now();
    el.dataset.firstFrameMs = window.coastcastFirstFrameMs.toFixed(0);
    coastcast.loadCoastline(map, ds.coastline);  // follows the view from here on
    if (m.times.length > 1) getFrame(1);
  }).catch((e) => { label.textContent = "could not load the forecast: " + e.message; });

  slider.addEventListener("input", () => show(+slider.value));
  playBtn.addEventListener("click", () => {
    if (playing) { clearInterval(playing); playing = null; playBtn.textContent = "▶"; return; }
    playBtn.textContent = "❚❚";
    playing = setInterval(() => {
      const n = +slider.max + 1, i = (+slider.value + 1) % n;
      slider.value = i; show(i); getFrame((i + 1) % n);
    }, 500);
  });
  layerSel.addEventListener("change", () => {
    mode = layerSel.value;
    slider.disabled = mode !== "frame";
    if (mode !== "frame" && !maxData) {
      fetch(ds.max).then((r) => r.json()).then((d) => { maxData = d; field.redraw(); });
    } else field.redraw();
  });

  // --- time series (uPlot): the model at a station or point; at a tide gauge also the gauge's
  // harmonic prediction and its MHWS / HAT levels, read above MSL or above the gauge's chart datum.
  const stationSel = document.getElementById("station");
  const datumSel = document.getElementById("datum");
  const datumChoice = document.getElementById("datum-choice");
  const title = document.getElementById("series-title");
  let stations = null, chart = null, pointMarker = null, pending = null, shown = -1;
  const r3 = (x) => Math.round(x * 1000) / 1000;
  const shifted = (a, d) => a.map((x) => (x === null ? null : r3(x + d)));
  const level = (x, n) => new Array(n).fill(r3(x));
  // Time axis in UTC, 24-hour clock, ISO dates: "13:00" at each tick, with the date (2026-11-25) under the
  // first tick and under each midnight. The labels drawn are also kept in the chart box's data-xticks.
  function utcTicks(box) {
    return (u, splits) => {
      let day = null;
      const out = splits.map((v) => {
        const t = new Date(v * 1000).toISOString(), d = t.slice(0, 10), hm = t.slice(11, 16);
        const label = d !== day ? hm + "\n" + d : hm;
        day = d;
        return label;
      });
      box.dataset.xticks = out.join("|");
      return out;
    };
  }
  const timeValue = (u, v) => (v === null || v === undefined ? "–" : fmtTime(v));
  const valueWith = (unit, digits) => (u, v) => (v === null || v === undefined ? "–" : v.toFixed(digits) + " " + unit);
  function timeOpts(box, series, axes, scales) {
    return { width: box.clientWidth || 800, height: 260, series: [{ label: "time (UTC)", value: timeValue }].concat(series),
      axes: [{ label: "time (UTC)", values: utcTicks(box), size: 52 }].concat(axes), scales: Object.assign({ x: { time: true } }, scales || {}),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC") };
  }
  function plot(times, lines, name, unit, current) {
    title.textContent = name;
    const box = document.getElementById("chart");
    const opts = timeOpts(box, lines.map((l) => ({ label: l.label, stroke: l.stroke, width: l.width || 1.5, dash: l.dash,
      points: { show: false }, value: valueWith("m", 2) })), [{ label: unit, size: 60 }]);
    opts.height = 300;
    opts.padding = [12, 40, 0, 0];  // room for the last tick's date
    if (chart) chart.destroy();
    chart = new uPlot(opts, [times].concat(lines.map((l) => l.values)), box);
    window.coastcastChart = chart;
    plotCurrent(times, current);
    if (frame) chartCursor(frame.time);
  }
  // currents: speed (m/s, left axis) and the direction the water flows towards (° from north, right axis)
  let currentChart = null;
  function plotCurrent(times, current) {
    const box = document.getElementById("chart-current"), note = document.getElementById("current-note");
    if (currentChart) { currentChart.destroy(); currentChart = null; window.coastcastCurrentChart = null; }
    const has = !!(current && current.speed && current.speed.some((x) => x !== null));
    box.hidden = !has;
    note.hidden = has;
    if (!has) return;
    const opts = timeOpts(box, [
      { label: "current speed", stroke: "#1b7837", width: 2, points: { show: false }, value: valueWith("m/s", 2) },
      { label: "direction (towards)", stroke: "#762a83", width: 0, scale: "deg", paths: () => null,
        points: { show: true, size: 4, fill: "#762a83" }, value: valueWith("°", 0) }],
      [{ label: "speed (m/s)", size: 60 }, { label: "direction (°, towards)", scale: "deg", side: 1, size: 64,
        values: (u, splits) => splits.map((v) => v.toFixed(0) + "°"), grid: { show: false } }],
      { y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] }, deg: { auto: false, range: [0, 360] } });
    currentChart = new uPlot(opts, [times, current.speed, current.direction], box);
    window.coastcastCurrentChart = currentChart;
  }
  function chartCursor(t) {
    for (const c of [chart, currentChart]) {
      if (!c) continue;
      const left = c.valToPos(t, "x");
      if (isFinite(left)) c.setCursor({ left: left, top: 10 });
    }
  }
  function showStation(k) {
    const s = stations.stations[k], n = stations.times.length;
    const tide = stations.tide_prediction && stations.tide_prediction[k];
    const hasChart = !!tide && s.msl_above_chart_datum !== null && s.msl_above_chart_datum !== undefined;
    datumChoice.hidden = !hasChart;
    const onChart = hasChart && datumSel.value === "chart";
    const off = onChart ? s.msl_above_chart_datum : 0;
    const above = stations.zeta_above_chart_datum && stations.zeta_above_chart_datum[k];
    const lines = [{ label: "model water level", values: onChart && above ? above : stations.zeta[k], stroke: "#0b6e99", width: 2 }];
    if (tide) {
      lines.push({ label: "gauge tide (harmonic prediction)", values: shifted(tide, off), stroke: "#e07b00", dash: [7, 4] });
      if (s.mhws_above_msl !== null && s.mhws_above_msl !== undefined)
        lines.push({ label: "MHWS " + (s.mhws_above_msl + off).toFixed(2) + " m", values: level(s.mhws_above_msl + off, n), stroke: "#7b3294", width: 1.2, dash: [2, 3] });
      if (s.hat_above_msl !== null && s.hat_above_msl !== undefined)
        lines.push({ label: "HAT " + (s.hat_above_msl + off).toFixed(2) + " m", values: level(s.hat_above_msl + off, n), stroke: "#b3261e", width: 1.2, dash: [8, 3, 2, 3] });
    }
    const where = " (" + s.lon.toFixed(3) + ", " + s.lat.toFixed(3) + ")";
    plot(stations.times, lines, "station " + s.name + where + (tide ? " · tide gauge " + s.gauge_id + " (" + s.distance_km + " km from this model point)" : ""),
         onChart ? "m above chart datum (" + (s.chart_datum || "chart") + ")" : "m above MSL",
         { speed: stations.speed && stations.speed[k], direction: stations.direction && stations.direction[k] });
    shown = k;
    stationSel.value = k;
    el.dataset.plotted = "station:" + s.name;
    el.dataset.datum = onChart ? "chart" : "msl";
  }
  function showByName(name) {
    if (!stations) { pending = name; return; }
    const k = stations.stations.findIndex((s) => s.name === name);
    if (k >= 0) { showStation(k); document.getElementById("chart").scrollIntoView({ block: "nearest" }); }
  }
  function loadStations() {  // after the first map frame: the map comes first
    fetch(ds.stations).then((r) => r.json()).then((d) => {
      stations = d;
      d.stations.forEach((s, k) => {
        const gauge = !!(d.tide_prediction && d.tide_prediction[k]);
        const o = document.createElement("option"); o.value = k; o.textContent = s.name + (gauge ? " (tide gauge)" : "");
        stationSel.appendChild(o);
        L.circleMarker([s.lat, s.lon], { radius: gauge ? 7 : 6, color: gauge ? "#e07b00" : "#b3261e", weight: 2, fillOpacity: 0.8, pane: "markerPane" })
          .bindTooltip(coastcast.text(s.name + (gauge ? " · tide gauge" : ""))).on("click", (e) => { L.DomEvent.stopPropagation(e); showStation(k); }).addTo(map);
      });
      if (pending !== null) showByName(pending);
      else if (d.stations.length) showStation(0);
    });
  }
  if (ds.stations) {
    firstFrame.finally(loadStations);
    stationSel.addEventListener("change", () => showStation(+stationSel.value));
    datumSel.addEventListener("change", () => { if (shown >= 0) showStation(shown); });
    document.querySelectorAll("button.plot-station, #alerts tr[data-station]").forEach((b) =>
      b.addEventListener("click", () => showByName(b.dataset.station)));
  } else stationSel.style.display = "none";
  map.on("click", (e) => {
    const lon = e.latlng.lng, lat = e.latlng.lat;
    fetch(ds.series + "?lon=" + lon.toFixed(5) + "&lat=" + lat.toFixed(5)).then((r) => r.json()).then((d) => {
      if (pointMarker) map.removeLayer(pointMarker);
      pointMarker = L.circleMarker([lat, lon], { radius: 5, color: "#111" }).addTo(map);
      datumChoice.hidden = true; shown = -1;
      plot(d.times, [{ label: "model water level", values: d.zeta, stroke: "#0b6e99", width: 2 }],
           "point (" + lon.toFixed(3) + ", " + lat.toFixed(3) + ")" + (d.method === "nearest_node" ? ", nearest node " + d.distance_km + " km away" : ""),
           "m above MSL", { speed: d.speed, direction: d.direction });
      el.dataset.plotted = "point";
    });
  });
})();
