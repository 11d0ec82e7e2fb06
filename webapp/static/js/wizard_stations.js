/* Stations step: click on the map to add "name, lon, lat" lines to the text area. */
(function () {
  "use strict";
  const el = document.getElementById("stations-map");
  const text = document.getElementById("stations");
  const bbox = el.dataset.bbox ? el.dataset.bbox.split(",").map(Number) : null;
  const bounds = bbox ? L.latLngBounds([bbox[1], bbox[0]], [bbox[3], bbox[2]]) : null;
  const map = coastcast.makeMap("stations-map", { bounds: bounds ? bounds.pad(0.2) : null });
  if (bounds) L.rectangle(bounds, { color: "#0b6e99", weight: 1, fill: false, interactive: false }).addTo(map);
  const markers = L.layerGroup().addTo(map);
  function parse() {
    return text.value.split("\n").map((l) => l.split(",").map((s) => s.trim())).filter((c) => c.length === 3 && isFinite(+c[1]) && isFinite(+c[2]) && c[1] !== "");
  }
  function refresh() {
    markers.clearLayers();
    parse().forEach((c) => L.circleMarker([+c[2], +c[1]], { radius: 6, color: "#b3261e" }).bindTooltip(coastcast.text(c[0]), { permanent: true, direction: "right" }).addTo(markers));
  }
  map.on("click", (e) => {
    const n = parse().length + 1;
    const line = "S" + n + ", " + coastcast.fmt(e.latlng.lng, 5) + ", " + coastcast.fmt(e.latlng.lat, 5);
    text.value = (text.value.trim() ? text.value.trim() + "\n" : "") + line;
    refresh();
  });
  text.addEventListener("input", refresh);
  refresh();
})();
