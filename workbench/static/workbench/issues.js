// The label-issue review queue: the worst label first, with the given and the suggested label,
// the model's confidence and every labeller's answer; accept, keep or relabel with one key.
// Everything goes through the REST API (label-issues, decide, accept), like a script would.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("issues-config").textContent);
  const { api, el, renderItem } = window.Workbench;
  const $ = (id) => document.getElementById(id);
  const statusBox = $("status");
  const note = $("note");
  const buttons = Array.from(document.querySelectorAll(".label-button"));
  const byKey = new Map(config.labels.filter((l) => l.hotkey).map((l) => [l.hotkey, l.name]));

  let queue = [];
  let next = null;
  const later = new Set();
  let current = null;
  let busy = false;
  let decided = 0;

  function say(message, kind) {
    statusBox.textContent = message;
    statusBox.className = "status" + (kind ? " " + kind : "");
  }

  function percent(value) {
    return value === null || value === undefined ? "—" : Math.round(value * 100) + "%";
  }

  async function fill() {
    const url = config.api.issues + "?limit=25" + (next ? "&after=" + next : "");
    const { status, data } = await api("GET", url);
    if (status !== 200) {
      say((data && data.detail) || "Couldn't load the issues (" + status + ").", "error");
      return false;
    }
    $("left").textContent = String(data.open);
    queue = data.results.filter((row) => !later.has(row.id));
    next = data.next;
    return true;
  }

  function show(row) {
    current = row;
    renderItem($("item"), row);
    $("item-meta").textContent =
      "Item " + row.external_id + " · #" + row.rank + " · " + row.issue_type.replace("_", " ") +
      " · label quality " + row.score.toFixed(3);
    $("given").textContent = row.given_label || "—";
    $("suggested").textContent = row.suggested_label || "none";
    $("suggested-detail").textContent =
      row.confidence === null ? "" : "(model confidence " + percent(row.confidence) + ")";
    $("prediction").textContent = row.prediction.length
      ? "Model: " + row.prediction.map((p) => p.label + " " + percent(p.probability)).join(", ")
      : "";
    const body = $("answers");
    body.replaceChildren();
    for (const answer of row.answers) {
      const tr = el("tr");
      tr.append(
        el("td", "", answer.labeller),
        el("td", "", answer.label),
        el("td", "num", percent(answer.reliability))
      );
      body.append(tr);
    }
    $("evidence").hidden = false;
    buttons.forEach((b) => (b.disabled = false));
    $("accept").disabled = !row.suggested_label;
    $("keep").disabled = false;
    note.value = "";
  }

  function showEmpty() {
    current = null;
    $("item").replaceChildren(
      el("p", "empty-title", "No open label issues left."),
      el("p", "muted", "Every issue of this job is decided" + (later.size ? ", or put off for later" : "") + ". Run the label-issue job again after new labels or a new model run.")
    );
    $("item-meta").textContent = "";
    $("evidence").hidden = true;
    buttons.forEach((b) => (b.disabled = true));
    $("accept").disabled = true;
    $("keep").disabled = true;
  }

  async function advance() {
    busy = true;
    try {
      queue = queue.filter((row) => !later.has(row.id) && (!current || row.id !== current.id));
      if (queue.length === 0) {
        next = null;
        do {
          if (!(await fill())) return;
        } while (queue.length === 0 && next);
      }
      if (queue.length === 0) showEmpty();
      else show(queue[0]);
    } finally {
      busy = false;
    }
  }

  async function decide(action, label) {
    if (!current || busy) return;
    if (action === "relabel" && label === current.suggested_label) action = "accept";
    if (action === "relabel" && label === current.given_label) action = "keep";
    if (action === "accept" && !current.suggested_label) return;
    busy = true;
    try {
      const body = { action, note: note.value.trim() };
      if (action === "relabel") body.label = label;
      const { status, data } = await api("POST", config.api.decide.replace("{id}", String(current.id)), body);
      if (status !== 200) {
        say((data && (data.detail || JSON.stringify(data))) || "Saving failed (" + status + ").", "error");
        return;
      }
      decided += 1;
      $("done").textContent = String(decided);
      $("left").textContent = String(Math.max(0, Number($("left").textContent) - 1));
      const what = { accept: "Accepted: ", keep: "Kept: ", relabel: "Relabelled: " }[action];
      say(what + (action === "accept" ? current.suggested_label : action === "keep" ? current.given_label : label), "ok");
    } finally {
      busy = false;
    }
    await advance();
  }

  async function putOff() {
    if (!current || busy) return;
    later.add(current.id);
    say("Left for later.");
    await advance();
  }

  let bulk = [];
  async function bulkPreview(event) {
    event.preventDefault();
    const k = Math.max(1, Math.min(500, Number($("bulk-k").value) || 10));
    const { status, data } = await api("GET", config.api.issues + "?limit=" + k);
    if (status !== 200) {
      say("Couldn't load the issues (" + status + ").", "error");
      return;
    }
    bulk = data.results.filter((row) => row.suggested_label);
    const list = $("bulk-list");
    list.replaceChildren();
    for (const row of bulk) {
      list.append(el("li", "", row.external_id + ": " + row.given_label + " → " + row.suggested_label + " (" + percent(row.confidence) + ")"));
    }
    $("bulk-accept").hidden = bulk.length === 0;
    $("bulk-accept").textContent = "Accept these " + bulk.length;
  }

  async function bulkAccept() {
    if (!bulk.length || busy) return;
    busy = true;
    try {
      const { status, data } = await api("POST", config.api.accept, { issues: bulk.map((r) => r.id) });
      if (status !== 200) {
        say((data && (data.detail || JSON.stringify(data))) || "That failed (" + status + ").", "error");
        return;
      }
      say("Accepted " + data.accepted + " suggestion" + (data.accepted === 1 ? "" : "s") + ".", "ok");
      decided += data.accepted;
      $("done").textContent = String(decided);
      $("bulk-list").replaceChildren();
      $("bulk-accept").hidden = true;
      bulk = [];
      current = null;
      queue = [];
    } finally {
      busy = false;
    }
    await advance();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target instanceof HTMLInputElement;
    if (document.activeElement === note) {
      if (event.key === "Escape" || event.key === "Enter") {
        event.preventDefault();
        note.blur();
      }
      return;
    }
    if (typing) return; // the bulk form's number field
    if (event.key === "/") {
      event.preventDefault();
      note.focus();
    } else if (event.key === "Enter") {
      if (event.target instanceof HTMLButtonElement) return;
      event.preventDefault();
      decide("accept");
    } else if (event.key === "0") {
      event.preventDefault();
      decide("keep");
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      putOff();
    } else if (byKey.has(event.key)) {
      event.preventDefault();
      decide("relabel", byKey.get(event.key));
    }
  });

  for (const button of buttons) {
    button.addEventListener("click", () => decide("relabel", button.dataset.label));
  }
  $("accept").addEventListener("click", () => decide("accept"));
  $("keep").addEventListener("click", () => decide("keep"));
  $("next").addEventListener("click", putOff);
  $("bulk-form").addEventListener("submit", bulkPreview);
  $("bulk-accept").addEventListener("click", bulkAccept);

  advance();
})();
