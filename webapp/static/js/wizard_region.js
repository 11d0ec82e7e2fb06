/* Region step: show the chosen kind's inputs; draw or type the box (leaflet-geoman rectangle). */
(function () {
  "use strict";
  const form = document.getElementById("region-form");
  const radios = form.querySelectorAll("input[name=kind]");
  function showKind() {
    const kind = (form.querySelector("input[name=kind]:checked") || { value: "box" }).value;
    form.querySelectorAll(".kind").forEach((s) => s.classList.toggle("shown", s.classList.contains("kind-" + kind)));
    if (kind === "box" && window._regionMap) window._regionMap.invalidateSize();
  }
  radios.forEach((r) => r.addEventListener("change", showKind));
  showKind();

  const inputs = ["west", "south", "east", "north"].map((k) => document.getElementById(k));
  const map = coastcast.makeMap("region-map", {});
  window._regionMap = map;
  let rect = null;
  function fromInputs() {
    const v = inputs.map((i) => parseFloat(i.value));
    if (v.some((x) => !isFinite(x)) || v[2] <= v[0] || v[3] <= v[1]) return null;
    return L.latLngBounds([v[1], v[0]], [v[3], v[2]]);
  }
  function setRect(bounds, fit) {
    if (rect) map.removeLayer(rect);
    rect = L.rectangle(bounds, { color: "#0b6e99", weight: 2 }).addTo(map);
    rect.on("pm:edit pm:dragend", () => toInputs(rect.getBounds()));
    if (fit) map.fitBounds(bounds.pad(0.5));
  }
  function toInputs(b) {
    const vals = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
    inputs.forEach((i, k) => { i.value = coastcast.fmt(vals[k], 4); });
  }
  map.pm.addControls({
    position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false, drawPolygon: false,
    drawCircle: false, drawText: false, cutPolygon: false, rotateMode: false, drawRectangle: true,
    editMode: true, dragMode: true, removalMode: false,
  });
  map.on("pm:create", (e) => {
    const b = e.layer.getBounds();
    map.removeLayer(e.layer);
    setRect(b, false);
    toInputs(b);
  });
  inputs.forEach((i) => i.addEventListener("change", () => { const b = fromInputs(); if (b) setRect(b, true); }));
  const initial = fromInputs();
  if (initial) setRect(initial, true); else map.fitBounds([[43, -10], [53, 3]]);
})();
