/* A Leaflet map that needs no tile server: sea-coloured background, the project's land (filled) and coastline.
   The coastline follows the view: the view's box is snapped outward to a grid (the same rule as
   webapp/coastline.py snap_bbox, so the server's cache and the browser's are hit), and a new box is asked for
   on moveend when the view leaves the loaded box or zooms in past the loaded detail. The map element's
   data-coastline is "loading", then "loaded" after each load ("failed" if it could not be fetched). */
(function () {
  "use strict";
  const MIN_STEP = 1 / 128, MAX_STEP = 32;
  const LAND_STYLE = { stroke: false, fill: true, fillColor: "#ece4cf", fillOpacity: 1 };
  const COAST_STYLE = { color: "#5b4a32", weight: 1.2, opacity: 0.9, fill: false };

  function makeMap(id, opts) {
    opts = opts || {};
    const map = L.map(id, Object.assign({ preferCanvas: true, zoomSnap: 0.25, attributionControl: true }, opts.map || {}));
    const tiles = document.body.dataset.tiles;
    if (tiles) L.tileLayer(tiles, { maxZoom: 18 }).addTo(map);
    // land below the data layers (overlayPane, z-index 400), coastline above them
    map.createPane("land");
    map.getPane("land").style.zIndex = 350;
    map.getPane("land").style.pointerEvents = "none";
    map.createPane("coast");
    map.getPane("coast").style.zIndex = 450;
    map.getPane("coast").style.pointerEvents = "none";
    if (opts.bounds) map.fitBounds(opts.bounds); else map.setView([47.5, -4], 5);
    map.attributionControl.addAttribution("Coastline: GSHHG (LGPL)");
    if (!opts.deferCoastline) loadCoastline(map, opts.coastline);
    return map;
  }

  function gridStep(size) {
    return Math.min(Math.max(Math.pow(2, Math.ceil(Math.log2(Math.max(size, 1e-9) / 16))), MIN_STEP), MAX_STEP);
  }
  // The view's box snapped outward (repeated until stable, as the server does), or null when the view
  // lies outside -180..180 / -90..90.
  function snappedView(map) {
    const b = map.getBounds();
    let w = Math.max(b.getWest(), -180), s = Math.max(b.getSouth(), -90);
    let e = Math.min(b.getEast(), 180), n = Math.min(b.getNorth(), 90);
    if (!(w < e && s < n)) return null;
    let step = MIN_STEP;
    for (let k = 0; k < 16; k++) {
      step = gridStep(Math.max(e - w, n - s));
      const W = Math.max(Math.floor(w / step) * step, -180), S = Math.max(Math.floor(s / step) * step, -90);
      const E = Math.min(Math.ceil(e / step) * step, 180), N = Math.min(Math.ceil(n / step) * step, 90);
      if (W === w && S === s && E === e && N === n) break;
      w = W; s = S; e = E; n = N;
    }
    return { bbox: [w, s, e, n], step: step, view: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()] };
  }
  function covers(box, view) {
    return Math.max(view[0], -180) >= box[0] && Math.max(view[1], -90) >= box[1] &&
      Math.min(view[2], 180) <= box[2] && Math.min(view[3], 90) <= box[3];
  }

  // Start (or restart with another URL) the view-driven coastline of `map`; returns the first load's promise.
  function loadCoastline(map, url) {
    const el = map.getContainer();
    let st = map._coastcastCoast;
    if (!st) {
      // loaded: the box drawn; target: the box asked for last (loading or loaded)
      st = map._coastcastCoast = { url: null, loaded: null, target: null, seq: 0, abort: null, layers: [], timer: null };
      map.on("moveend", () => { clearTimeout(st.timer); st.timer = setTimeout(() => st.update(false), 150); });
    }
    st.url = url || "/api/coastline";

    function update(force) {
      const want = snappedView(map);
      if (!want) return Promise.resolve();
      const t = st.target;
      if (!force && t && covers(t.bbox, want.view) && want.step >= t.step) return Promise.resolve();
      if (st.abort) st.abort.abort();
      const ctrl = st.abort = new AbortController();
      const seq = ++st.seq;
      st.target = want;
      el.dataset.coastline = "loading";
      return fetch(st.url + "?bbox=" + want.bbox.join(","), { signal: ctrl.signal }).then((r) => {
        if (!r.ok) throw new Error("coastline: HTTP " + r.status);
        return r.json();
      }).then((gj) => {
        if (seq !== st.seq) return;
        const kind = (f) => f.properties && f.properties.kind;
        const layers = [];
        // tiles, when configured, already show the land
        if (!document.body.dataset.tiles) {
          layers.push(L.geoJSON(gj, { pane: "land", interactive: false, filter: (f) => kind(f) === "land", style: LAND_STYLE }));
        }
        layers.push(L.geoJSON(gj, { pane: "coast", interactive: false, filter: (f) => kind(f) === "coast", style: COAST_STYLE }));
        layers.forEach((l) => l.addTo(map));
        st.layers.forEach((l) => map.removeLayer(l));
        st.layers = layers;
        st.loaded = want;
        el.dataset.coastline = "loaded";
      }).catch((err) => {
        if (err.name === "AbortError" || seq !== st.seq) return;
        st.target = st.loaded;
        el.dataset.coastline = "failed";
        console.warn("coastline not loaded:", err.message);
      });
    }
    st.update = update;
    // after the caller's own fitBounds/setView in the same task
    return new Promise((resolve) => setTimeout(() => resolve(update(true)), 0));
  }
  function fmt(x, n) { return Number(x).toFixed(n === undefined ? 4 : n); }
  // Leaflet puts a string given to bindTooltip/bindPopup in as HTML; names (a user's stations and
  // systems) go in as a text node instead, so "<img onerror=...>" shows as those characters.
  function text(s) { return document.createTextNode(String(s)); }
  window.coastcast = { makeMap: makeMap, loadCoastline: loadCoastline, snappedView: snappedView, fmt: fmt, text: text };
})();
