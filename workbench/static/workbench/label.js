// The labelling screen: fetch the next item, show it, label it with one key, move on.
// Everything goes through the REST API (next-item, annotations, skips, items), so the screen
// does exactly what a script can do. Item text is untrusted: it is only ever set as textContent.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("label-config").textContent);
  const $ = (id) => document.getElementById(id);
  const itemBox = $("item");
  const metaBox = $("item-meta");
  const statusBox = $("status");
  const guidelines = $("guidelines");
  const skipForm = $("skip-form");
  const buttons = Array.from(document.querySelectorAll(".label-button"));
  const byKey = new Map(config.labels.filter((l) => l.hotkey).map((l) => [l.hotkey, l.name]));

  let current = null; // {item, shownAt, answered: label or null, reviewing: bool}
  let history = []; // ids of items answered in this session, newest last
  let busy = false;

  const { api, el } = window.Workbench;

  function say(message, kind) {
    statusBox.textContent = message;
    statusBox.className = "status" + (kind ? " " + kind : "");
  }

  function render(item) {
    window.Workbench.renderItem(itemBox, item);
    metaBox.textContent = "Item " + item.external_id;
  }

  function markAnswer(label) {
    for (const button of buttons) {
      button.setAttribute("aria-pressed", button.dataset.label === label ? "true" : "false");
    }
  }

  function showEmpty() {
    current = null;
    itemBox.replaceChildren(
      el("p", "empty-title", "Nothing left for you to label here."),
      el("p", "muted", "Every item has the labels it needs, or you have labelled or skipped the rest. Thank you!")
    );
    metaBox.textContent = "";
    markAnswer(null);
    buttons.forEach((b) => (b.disabled = true));
  }

  async function loadNext() {
    busy = true;
    try {
      const { status, data } = await api("GET", config.api.next);
      if (status === 204) {
        showEmpty();
        return;
      }
      if (status !== 200) {
        say((data && data.detail) || "Couldn't load the next item (" + status + ").", "error");
        return;
      }
      $("mine").textContent = String(data.progress.labelled_by_you);
      buttons.forEach((b) => (b.disabled = false));
      current = { item: data.item, shownAt: performance.now(), answered: null, reviewing: false };
      render(data.item);
      markAnswer(null);
    } finally {
      busy = false;
    }
  }

  async function submit(label) {
    if (!current || busy) return;
    busy = true;
    const spent = Math.round(performance.now() - current.shownAt);
    try {
      const { status, data } = await api("POST", config.api.annotations, {
        item: current.item.id,
        label,
        time_spent_ms: spent,
      });
      if (status === 409) {
        say("Someone else gave this item its last label; here is another one.");
      } else if (status !== 201) {
        say((data && (data.detail || JSON.stringify(data))) || "Saving failed (" + status + ").", "error");
        return;
      } else {
        if (!current.reviewing) history.push(current.item.id);
        say((current.reviewing ? "Changed to " : "Saved: ") + label, "ok");
      }
    } finally {
      busy = false;
    }
    await loadNext();
  }

  async function back() {
    if (busy || history.length === 0) {
      say("No earlier answer in this session.");
      return;
    }
    busy = true;
    try {
      const id = history[history.length - 1];
      const [item, answers] = await Promise.all([
        api("GET", config.api.item.replace("{id}", String(id))),
        api("GET", config.api.annotations + "?item=" + id),
      ]);
      if (item.status !== 200) {
        say("Couldn't open your last item.", "error");
        return;
      }
      const mineNow = answers.data && answers.data.results && answers.data.results[0];
      history.pop();
      current = { item: item.data, shownAt: performance.now(), answered: mineNow ? mineNow.label : null, reviewing: true };
      render(item.data);
      markAnswer(current.answered);
      say("Your earlier answer" + (current.answered ? ": " + current.answered : "") + ". Press a label key to change it, → to go on.");
    } finally {
      busy = false;
    }
  }

  async function skip(reason) {
    if (!current || busy) return;
    if (current.reviewing) {
      await loadNext();
      return;
    }
    busy = true;
    try {
      const { status, data } = await api("POST", config.api.skips, { item: current.item.id, reason: reason || "" });
      if (status !== 201) {
        say((data && data.detail) || "Skipping failed (" + status + ").", "error");
        return;
      }
      say("Skipped" + (reason ? ": " + reason : "") + ".");
    } finally {
      busy = false;
    }
    await loadNext();
  }

  function toggleGuidelines(force) {
    const open = force === undefined ? guidelines.hidden : force;
    guidelines.hidden = !open;
    $("guidelines-button").setAttribute("aria-expanded", String(open));
  }

  function openSkipForm() {
    if (!current) return;
    skipForm.hidden = false;
    $("skip-reason").value = "";
    $("skip-reason").focus();
  }

  function closeSkipForm() {
    skipForm.hidden = true;
    $("skip-reason").blur();
  }

  skipForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = $("skip-reason").value.trim();
    closeSkipForm();
    skip(reason);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (!skipForm.hidden) {
      if (event.key === "Escape") {
        event.preventDefault();
        closeSkipForm();
      }
      return; // typing a reason
    }
    if (event.key === "?") {
      event.preventDefault();
      toggleGuidelines();
    } else if (event.key === "Escape") {
      toggleGuidelines(false);
    } else if (event.key === "ArrowLeft") {
      event.preventDefault();
      back();
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      if (event.shiftKey) openSkipForm();
      else skip("");
    } else if (byKey.has(event.key)) {
      event.preventDefault();
      submit(byKey.get(event.key));
    }
  });

  for (const button of buttons) {
    button.addEventListener("click", () => submit(button.dataset.label));
  }
  $("back").addEventListener("click", back);
  $("skip").addEventListener("click", () => skip(""));
  $("skip-why").addEventListener("click", openSkipForm);
  $("guidelines-button").addEventListener("click", () => toggleGuidelines());

  loadNext();
})();
