// SLA countdowns: every badge with data-due counts down to its due instant once a second and
// turns red when it passes (the server decided the state; the page only keeps time moving).
(function () {
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), r = s % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + String(m).padStart(2, "0") + "m";
    return m + "m " + String(r).padStart(2, "0") + "s";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (badge) {
      var left = Date.parse(badge.dataset.due) - now, label = badge.querySelector(".countdown");
      if (!label) return;
      if (left > 0) {
        label.textContent = "due in " + span(left);
      } else {
        label.textContent = "overdue " + span(left);
        badge.classList.remove("sla-running", "sla-warning");
        badge.classList.add("sla-breached");
        badge.querySelector(".state").textContent = "breached";
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
