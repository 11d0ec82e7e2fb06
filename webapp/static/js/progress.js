/* Live progress of queued and running cycles (dashboard, system and cycle pages).
 * Each element with data-progress-url and data-status queued/running is refreshed every 2 s from
 * /cycles/<id>/progress.json: the bar (fraction of simulated time), the percentage, the stage line
 * (spin-up / forecast / publishing, hours simulated, ETA) and, on the cycle page, the log.
 * The page reloads once a cycle has ended, to show its outputs. Text only: never HTML. */
(function () {
  "use strict";
  const ACTIVE = ["queued", "running"];
  const items = Array.from(document.querySelectorAll("[data-progress-url]")).filter((el) => ACTIVE.includes(el.dataset.status));
  if (!items.length) return;
  const logBox = document.getElementById("log");

  function update(el, p) {
    const bar = el.querySelector("progress");
    if (bar) bar.value = p.progress;
    const pct = el.querySelector(".pct");
    if (pct) pct.textContent = Math.round(p.progress * 100) + " %";
    const stage = el.querySelector(".stage");
    if (stage) stage.textContent = p.text;
    const badge = el.querySelector(".status");
    if (badge) { badge.textContent = p.status; badge.className = "badge status " + p.status; }
    if (logBox && el.id === "cycle-progress" && typeof p.log === "string") {
      const atEnd = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
      logBox.textContent = p.log || "(empty)";
      if (atEnd) logBox.scrollTop = logBox.scrollHeight;
    }
  }

  const timer = setInterval(() => {
    items.forEach((el) => {
      fetch(el.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : null))
        .then((p) => {
          if (!p) return;
          update(el, p);
          if (!ACTIVE.includes(p.status)) { clearInterval(timer); window.location.reload(); }
        })
        .catch(() => {});
    });
  }, 2000);
})();
