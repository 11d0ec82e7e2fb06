/* A Leaflet map that needs no tile server: sea-coloured background and the project's coastline. */
(function () {
  "use strict";
  function makeMap(id, opts) {
    opts = opts || {};
    const map = L.map(id, Object.assign({ preferCanvas: true, zoomSnap: 0.25, attributionControl: true }, opts.map || {}));
    const tiles = document.body.dataset.tiles;
    if (tiles) L.tileLayer(tiles, { maxZoom: 18 }).addTo(map);
    map.createPane("coast");
    map.getPane("coast").style.zIndex = 450;
    map.getPane("coast").style.pointerEvents = "none";
    if (opts.bounds) map.fitBounds(opts.bounds); else map.setView([47.5, -4], 5);
    map.attributionControl.addAttribution("Coastline: GSHHG (LGPL)");
    if (!opts.deferCoastline) loadCoastline(map, opts.coastline);
    return map;
  }
  function loadCoastline(map, url) {
    return fetch(url || "/api/coastline").then((r) => r.json()).then((gj) => {
      L.geoJSON(gj, { pane: "coast", interactive: false, style: { color: "#5b4a32", weight: 1.2, opacity: 0.9 } }).addTo(map);
      map.getContainer().dataset.coastline = "loaded";
    }).catch(() => {});
  }
  function fmt(x, n) { return Number(x).toFixed(n === undefined ? 4 : n); }
  window.coastcast = { makeMap: makeMap, loadCoastline: loadCoastline, fmt: fmt };
})();
