// Follows a running job on a server-rendered page: polls the job's API URL (from the
// data-job-url attribute), shows its progress and message, and reloads the page once the job
// has finished so that the page shows the outcome.
(function () {
  "use strict";

  const FINISHED = ["succeeded", "failed", "cancelled"];
  const INTERVAL_MS = 700;
  const MAX_FAILURES = 5;

  function watch(box) {
    const url = box.dataset.jobUrl;
    const bar = box.querySelector("progress");
    const message = box.querySelector("[data-job-message]");
    const status = box.querySelector("[data-job-status]");
    let failures = 0;

    async function poll() {
      try {
        const response = await fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (!response.ok) throw new Error("the server answered " + response.status);
        const job = await response.json();
        failures = 0;
        if (bar) bar.value = job.progress;
        if (message && job.progress_message) message.textContent = job.progress_message;
        if (status) status.textContent = job.status;
        if (FINISHED.includes(job.status)) {
          window.location.reload();
          return;
        }
      } catch (error) {
        failures += 1;
        if (failures >= MAX_FAILURES) {
          if (message) message.textContent = "Lost track of the job (" + error.message + "). Reload the page to look again.";
          return;
        }
      }
      window.setTimeout(poll, INTERVAL_MS);
    }

    window.setTimeout(poll, INTERVAL_MS);
  }

  document.querySelectorAll("[data-job-url]").forEach(watch);
})();
