/* Wizard, thresholds step: "+ add a row" copies the last row, empty, with the next index. */
(function () {
  "use strict";
  const body = document.querySelector("#thresholds tbody");
  document.getElementById("add-threshold").addEventListener("click", () => {
    const rows = body.querySelectorAll("tr.threshold-row");
    const last = rows[rows.length - 1], n = rows.length;
    const row = last.cloneNode(true);
    row.id = "threshold-" + n;
    row.classList.remove("has-error");
    row.querySelectorAll("select, input").forEach((f) => {
      f.name = f.name.replace(/^threshold-\d+-/, "threshold-" + n + "-");
      f.setAttribute("aria-label", f.getAttribute("aria-label").replace(/\d+/, String(n + 1)));
      if (f.tagName === "INPUT") f.value = "";
      else f.selectedIndex = 0;
    });
    body.appendChild(row);
    row.querySelector("select").focus();
  });
})();
