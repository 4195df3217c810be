// The disagreement review queue: show an undecided item whose labels differ, every labeller's
// answer with their reliability and the consensus; decide with one key, optionally with a note.
// Everything goes through the REST API (disagreements, decisions), like a script would.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("review-config").textContent);
  const { api, el, renderItem } = window.Workbench;
  const $ = (id) => document.getElementById(id);
  const statusBox = $("status");
  const note = $("note");
  const buttons = Array.from(document.querySelectorAll(".label-button"));
  const byKey = new Map(config.labels.filter((l) => l.hotkey).map((l) => [l.hotkey, l.name]));

  let queue = []; // the loaded page of disagreements, worst first
  let next = null; // cursor of the following page
  let later = new Set(); // items put off in this session
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
    const url = config.api.disagreements + "?limit=25" + (next ? "&after=" + encodeURIComponent(next) : "");
    const { status, data } = await api("GET", url);
    if (status !== 200) {
      say((data && data.detail) || "Couldn't load the queue (" + status + ").", "error");
      return false;
    }
    $("left").textContent = String(data.count);
    queue = data.results.filter((row) => !later.has(row.item));
    next = data.next;
    return true;
  }

  function show(row) {
    current = row;
    renderItem($("item"), row);
    $("item-meta").textContent = "Item " + row.external_id;
    const consensus = row.consensus;
    $("consensus-label").textContent = consensus.label || "none";
    $("consensus-detail").textContent =
      "(" + (consensus.method || "no method").replace("_", " ") + ", confidence " + percent(consensus.confidence) + ")";
    $("prediction").textContent = row.prediction
      ? "Model prediction: " + row.prediction.label + " (" + percent(row.prediction.confidence) + ")"
      : "No model prediction for this item.";
    const body = $("answers");
    body.replaceChildren();
    for (const answer of row.answers) {
      const tr = el("tr");
      const time = answer.time_spent_ms === null ? "—" : (answer.time_spent_ms / 1000).toFixed(1) + " s";
      tr.append(
        el("td", "", answer.labeller),
        el("td", answer.label === consensus.label ? "agrees" : "differs", answer.label),
        el("td", "num", percent(answer.reliability)),
        el("td", "num", time)
      );
      body.append(tr);
    }
    $("reliability-hint").hidden = row.answers.some((a) => a.reliability !== null);
    $("evidence").hidden = false;
    buttons.forEach((b) => (b.disabled = false));
    $("accept").disabled = !consensus.label;
    note.value = "";
  }

  function showEmpty() {
    current = null;
    $("item").replaceChildren(
      el("p", "empty-title", "No disagreements left to review."),
      el("p", "muted", "Every item whose labellers disagree has a decision" + (later.size ? ", or you put it off for later" : "") + ". New labels may bring new ones; run the agreement job to refresh the labellers' reliability.")
    );
    $("item-meta").textContent = "";
    $("evidence").hidden = true;
    buttons.forEach((b) => (b.disabled = true));
    $("accept").disabled = true;
  }

  async function advance() {
    busy = true;
    try {
      queue = queue.filter((row) => !later.has(row.item) && (!current || row.item !== current.item));
      if (queue.length === 0) {
        next = null; // decided items have left the queue: start again from the top
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

  async function decide(label) {
    if (!current || busy || !label) return;
    busy = true;
    try {
      const { status, data } = await api("POST", config.api.decisions, {
        item: current.item,
        label,
        note: note.value.trim(),
      });
      if (status !== 201) {
        say((data && (data.detail || JSON.stringify(data))) || "Saving failed (" + status + ").", "error");
        return;
      }
      decided += 1;
      $("done").textContent = String(decided);
      $("left").textContent = String(Math.max(0, Number($("left").textContent) - 1));
      say("Decided: " + label + (data.note ? " (" + data.note + ")" : ""), "ok");
    } finally {
      busy = false;
    }
    await advance();
  }

  async function putOff() {
    if (!current || busy) return;
    later.add(current.item);
    say("Left for later.");
    await advance();
  }

  async function acceptUnanimous() {
    if (busy) return;
    const ok = window.confirm(
      "Accept the label of every undecided item on which all its labellers (at least " + config.minLabels + ") agree?"
    );
    if (!ok) return;
    const { status, data } = await api("POST", config.api.acceptUnanimous, {});
    if (status !== 200) {
      say((data && data.detail) || "That failed (" + status + ").", "error");
      return;
    }
    say("Accepted " + data.decided + " unanimous item" + (data.decided === 1 ? "" : "s") + ".", "ok");
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.activeElement === note) {
      if (event.key === "Escape" || event.key === "Enter") {
        event.preventDefault();
        note.blur();
      }
      return; // typing a note
    }
    if (event.key === "/") {
      event.preventDefault();
      note.focus();
    } else if (event.key === "Enter") {
      if (event.target instanceof HTMLButtonElement) return; // a focused button is pressed
      event.preventDefault();
      if (current) decide(current.consensus.label);
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      putOff();
    } else if (byKey.has(event.key)) {
      event.preventDefault();
      decide(byKey.get(event.key));
    }
  });

  for (const button of buttons) {
    button.addEventListener("click", () => decide(button.dataset.label));
  }
  $("accept").addEventListener("click", () => current && decide(current.consensus.label));
  $("next").addEventListener("click", putOff);
  $("accept-unanimous").addEventListener("click", acceptUnanimous);

  advance();
})();
