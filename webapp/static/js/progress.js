/* Dashboard: poll the API for queued/running cycles and update their progress; reload when done. */
(function () {
  "use strict";
  const rows = Array.from(document.querySelectorAll("tr.cycle-row")).filter((r) => ["queued", "running"].includes(r.dataset.status));
  if (!rows.length) return;
  const timer = setInterval(() => {
    rows.forEach((row) => {
      fetch(row.dataset.api).then((r) => r.json()).then((c) => {
        row.querySelector("progress").value = c.progress;
        row.querySelector(".pct").textContent = Math.round(c.progress * 100) + " %";
        const badge = row.querySelector(".status");
        badge.textContent = c.status; badge.className = "badge status " + c.status;
        if (!["queued", "running"].includes(c.status)) { clearInterval(timer); window.location.reload(); }
      }).catch(() => {});
    });
  }, 1000);
})();
