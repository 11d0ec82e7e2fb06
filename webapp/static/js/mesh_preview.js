/* Mesh pre-flight map: the triangles of the mesh (fetched from the element's data-url, the JSON of
   webapp.wizard.mesh_preview_json) filled by depth or by depth source on one canvas (fast for tens of
   thousands of faces), the open boundaries as thick lines with permanent labels (open_1, ...), a legend
   and, where per-node depth sources are known, a toggle between the two colourings.
   The element's data-state: "loading", then "ready" (or "failed", with a one-line message). */
(function () {
  "use strict";
  const DEPTH_STOPS = [[199, 233, 180], [127, 205, 187], [65, 182, 196], [29, 145, 192], [34, 94, 168], [12, 44, 132]];
  const SOURCE_COLOURS = ["#1b9e77", "#7570b3", "#e6ab02", "#66a61e", "#a6761d", "#e7298a", "#666666"];
  const SYNTHETIC_COLOUR = "#d95f02";
  const BOUNDARY_STYLE = { color: "#c0392b", weight: 6, opacity: 0.9 };

  function lerpColour(stops, t) {
    t = Math.min(1, Math.max(0, t)) * (stops.length - 1);
    const k = Math.min(Math.floor(t), stops.length - 2), f = t - k, a = stops[k], b = stops[k + 1];
    return "rgb(" + [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * f)).join(",") + ")";
  }
  function sourceColour(names, k) {
    return /synthetic/i.test(names[k]) ? SYNTHETIC_COLOUR : SOURCE_COLOURS[k % SOURCE_COLOURS.length];
  }
  function span(text, cls) {
    const s = document.createElement("span");
    if (cls) s.className = cls;
    s.textContent = text;
    return s;
  }

  function setup(el) {
    const map = coastcast.makeMap(el.id, { deferCoastline: true });
    let mesh = null, mode = "depth", proj = null, projZoom = null, legendDiv = null, toggle = null;

    function project() {
      const z = map.getZoom();
      if (proj && projZoom === z) return proj;
      const n = mesh.lon.length;
      proj = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        const p = map.project([mesh.lat[i], mesh.lon[i]], z);
        proj[2 * i] = p.x; proj[2 * i + 1] = p.y;
      }
      projZoom = z;
      return proj;
    }

    // one colour per face: the mean depth of its nodes, or the source of most of its nodes
    function faceColours() {
      const tri = mesh.triangles, nf = tri.length / 3, out = new Array(nf);
      if (mode === "source") {
        const src = mesh.node_source, names = mesh.source_names;
        for (let f = 0; f < nf; f++) {
          const a = src[tri[3 * f]], b = src[tri[3 * f + 1]], c = src[tri[3 * f + 2]];
          out[f] = sourceColour(names, (b === c) ? b : a);
        }
        return out;
      }
      const d = mesh.depth, lo = mesh.depthRange[0], span_ = (mesh.depthRange[1] - lo) || 1;
      for (let f = 0; f < nf; f++) {
        if (!d) { out[f] = "rgb(65,182,196)"; continue; }
        const m = (d[tri[3 * f]] + d[tri[3 * f + 1]] + d[tri[3 * f + 2]]) / 3;
        out[f] = lerpColour(DEPTH_STOPS, (m - lo) / span_);
      }
      return out;
    }

    const MeshLayer = L.Layer.extend({
      onAdd: function (m) {
        this._canvas = L.DomUtil.create("canvas", "leaflet-zoom-hide mesh-canvas");
        m.getPanes().overlayPane.appendChild(this._canvas);
        m.on("moveend zoomend resize viewreset", this._reset, this);
        this._reset();
      },
      onRemove: function (m) { this._canvas.remove(); m.off("moveend zoomend resize viewreset", this._reset, this); },
      _reset: function () {
        const m = this._map, size = m.getSize(), dpr = window.devicePixelRatio || 1, c = this._canvas;
        L.DomUtil.setPosition(c, m.containerPointToLayerPoint([0, 0]));
        c.width = size.x * dpr; c.height = size.y * dpr;
        c.style.width = size.x + "px"; c.style.height = size.y + "px";
        this.redraw(dpr);
      },
      redraw: function (dpr) {
        if (!this._map || !mesh) return;
        dpr = dpr || window.devicePixelRatio || 1;
        const c = this._canvas, ctx = c.getContext("2d"), P = project();
        const origin = this._map.getPixelBounds().min;
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        ctx.clearRect(0, 0, c.width, c.height);
        const tri = mesh.triangles, nf = tri.length / 3, cols = mesh.colours[mode];
        const w = c.width / dpr, h = c.height / dpr;
        const edges = this._map.getZoom() >= 11;
        ctx.lineWidth = 0.4;
        ctx.strokeStyle = "rgba(40,40,40,0.35)";
        for (let f = 0; f < nf; f++) {
          const a = 2 * tri[3 * f], b = 2 * tri[3 * f + 1], q = 2 * tri[3 * f + 2];
          const x0 = P[a] - origin.x, y0 = P[a + 1] - origin.y, x1 = P[b] - origin.x, y1 = P[b + 1] - origin.y;
          const x2 = P[q] - origin.x, y2 = P[q + 1] - origin.y;
          if (Math.max(x0, x1, x2) < 0 || Math.min(x0, x1, x2) > w || Math.max(y0, y1, y2) < 0 || Math.min(y0, y1, y2) > h) continue;
          ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.lineTo(x2, y2); ctx.closePath();
          ctx.fillStyle = cols[f]; ctx.fill();
          if (edges) ctx.stroke();
        }
      },
    });
    const layer = new MeshLayer();

    function drawLegend() {
      legendDiv.textContent = "";
      if (mode === "source") {
        legendDiv.append(span("Depth source:", "title"));
        mesh.source_names.forEach((name, k) => {
          const row = document.createElement("div"), sw = span("", "swatch");
          sw.style.background = sourceColour(mesh.source_names, k);
          row.append(sw, span(name + " (" + ((mesh.depth_sources || {})[name] || 0) + " nodes)"));
          legendDiv.append(row);
        });
      } else if (mesh.depth) {
        const bar = span("", "bar");
        bar.style.background = "linear-gradient(to right," + DEPTH_STOPS.map((c) => "rgb(" + c.join(",") + ")").join(",") + ")";
        legendDiv.append(span("Depth:", "title"), span(mesh.depthRange[0].toFixed(1)), bar, span(mesh.depthRange[1].toFixed(1) + " m"));
      } else {
        legendDiv.append(span("The mesh file gives no depths."));
      }
      const line = document.createElement("div"), sw = span("", "swatch line");
      sw.style.background = BOUNDARY_STYLE.color;
      line.append(sw, span("open boundary"));
      legendDiv.append(line);
      if (toggle) toggle.textContent = mode === "depth" ? "Colour by depth source" : "Colour by depth";
    }

    function draw(data) {
      mesh = data;
      if (mesh.depth) {
        let lo = Infinity, hi = -Infinity;
        for (const v of mesh.depth) { if (v < lo) lo = v; if (v > hi) hi = v; }
        mesh.depthRange = [lo, hi];
      }
      mesh.colours = { depth: null, source: null };
      mesh.colours.depth = faceColours();
      const hasSources = Array.isArray(mesh.node_source) && Array.isArray(mesh.source_names);
      if (hasSources) { mode = "source"; mesh.colours.source = faceColours(); mode = "depth"; }
      const b = mesh.bbox;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [20, 20] });
      layer.addTo(map);
      L.geoJSON(mesh.open_boundaries, {
        style: () => BOUNDARY_STYLE,
        onEachFeature: (f, l) => l.bindTooltip(coastcast.text(f.properties.name),
          { permanent: true, direction: "center", className: "boundary-label" }),
      }).addTo(map);
      const Legend = L.Control.extend({
        options: { position: "topright" },
        onAdd: function () {
          const div = L.DomUtil.create("div", "mesh-legend legend-box");
          L.DomEvent.disableClickPropagation(div);
          legendDiv = L.DomUtil.create("div", "mesh-legend-body", div);
          if (hasSources) {
            toggle = L.DomUtil.create("button", "source-toggle", div);
            toggle.type = "button";
            toggle.addEventListener("click", () => {
              mode = mode === "depth" ? "source" : "depth";
              el.dataset.colour = mode;
              drawLegend();
              layer.redraw();
            });
          }
          return div;
        },
      });
      new Legend().addTo(map);
      el.dataset.colour = mode;
      drawLegend();
      coastcast.loadCoastline(map);
      el.dataset.state = "ready";
    }

    fetch(el.dataset.url, { credentials: "same-origin" })
      .then((r) => r.json().catch(() => ({})).then((j) => {
        if (!r.ok) throw new Error(j.error || "HTTP " + r.status);
        return j;
      }))
      .then(draw)
      .catch((err) => {
        el.dataset.state = "failed";
        const p = document.createElement("p");
        p.className = "error";
        p.textContent = "The map preview could not be drawn: " + err.message;
        el.after(p);
      });
    return map;
  }

  document.querySelectorAll(".mesh-preview[data-url]").forEach((el) => { el._previewMap = setup(el); });
})();
