// The augmentation form: shows each recipe's description and defaults, and previews a few
// target items beside their variants through the preview API (nothing is written). Item
// content is untrusted: it is only ever set as textContent (images only from data: URLs the
// server made, or same-origin paths).
(function () {
  "use strict";

  const { api, el } = window.Workbench;
  const config = JSON.parse(document.getElementById("augment-config").textContent);
  const form = document.getElementById("augment-form");
  const recipe = document.getElementById("recipe");
  const help = document.getElementById("recipe-help");
  const defaults = document.getElementById("recipe-defaults");
  const previewBox = document.getElementById("preview");
  const previewBody = document.getElementById("preview-body");
  const byName = Object.fromEntries(config.recipes.map((r) => [r.name, r]));

  function describe() {
    const chosen = byName[recipe.value];
    if (!chosen) return;
    help.textContent = chosen.description || "";
    const parts = (chosen.params || []).map((p) => p.name + " = " + JSON.stringify(p.default));
    defaults.textContent = parts.length ? "Defaults: " + parts.join(", ") : "No parameters.";
  }

  function intOrText(value) {
    return /^-?\d+$/.test(value.trim()) ? parseInt(value, 10) : value;
  }

  function params() {
    const data = new FormData(form);
    const target = {};
    const kind = data.get("target");
    const value = String(data.get("value") || "");
    if (kind === "slice") {
      target.slice = intOrText(value);
      if (data.get("job")) target.job = intOrText(String(data.get("job")));
    } else if (kind === "items") {
      target.items = value.split(/[\s,]+/).filter(Boolean).map((v) => intOrText(v));
    } else {
      target[kind] = value;
    }
    const body = {
      recipe: data.get("recipe"),
      target,
      seed: intOrText(String(data.get("seed") || "0")),
      variants: intOrText(String(data.get("variants") || "1")),
    };
    const raw = String(data.get("recipe_params") || "").trim();
    if (raw) body.recipe_params = JSON.parse(raw);
    if (data.get("field")) body.field = data.get("field");
    return body;
  }

  function show(value) {
    if (value && typeof value === "object") {
      const image = value.image || value.image_url;
      if (typeof image === "string" && (image.startsWith("data:image/") || image.startsWith("/"))) {
        const img = el("img", "preview-image");
        img.src = image;
        img.alt = "";
        return img;
      }
      const keys = Object.keys(value);
      if (keys.length === 1) return el("p", "item-text", String(value[keys[0]]));
      const table = el("table", "fields");
      for (const key of keys) {
        const row = el("tr");
        const cell = value[key];
        row.append(el("th", "", key), el("td", "", typeof cell === "string" ? cell : JSON.stringify(cell)));
        table.append(row);
      }
      return table;
    }
    return el("p", "item-text", String(value));
  }

  function errorText(data) {
    if (!data) return "The preview failed.";
    return Object.entries(data)
      .map(([key, value]) => key + ": " + (Array.isArray(value) ? value.join(" ") : String(value)))
      .join(" ");
  }

  async function preview() {
    previewBox.hidden = false;
    previewBody.replaceChildren(el("p", "muted", "Making a preview…"));
    let body;
    try {
      body = params();
    } catch (error) {
      previewBody.replaceChildren(el("p", "error", "Parameters must be JSON: " + error.message));
      return;
    }
    const { status, data } = await api("POST", config.preview, body);
    if (status !== 200) {
      const message = el("p", "error", errorText(data));
      message.setAttribute("role", "alert");
      previewBody.replaceChildren(message);
      return;
    }
    previewBody.replaceChildren();
    for (const item of data.items) {
      const row = el("div", "preview-row");
      const original = el("div", "preview-original");
      original.append(el("div", "field-name", "Original · " + item.external_id), show(item.original));
      row.append(original);
      item.variants.forEach((variant, index) => {
        const box = el("div", "preview-variant");
        box.append(el("div", "field-name", "Variant " + (index + 1)), show(variant));
        row.append(box);
      });
      previewBody.append(row);
    }
  }

  recipe.addEventListener("change", describe);
  document.getElementById("preview-button").addEventListener("click", preview);
  describe();
})();
