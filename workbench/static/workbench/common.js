// Shared by the labelling and review screens: the JSON API client and the item renderer.
// Item text is untrusted: it is only ever set as textContent.
(function () {
  "use strict";

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
    }
    return { status: response.status, data };
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function asText(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  // Show an item by its kind: a text, a pair of texts, an image, or a table of fields.
  function renderItem(itemBox, item) {
    itemBox.replaceChildren();
    const data = item.data || {};
    const keys = Object.keys(data);
    const image = data.image || data.image_url;
    const texts = keys.filter((k) => typeof data[k] === "string" && k !== "image" && k !== "image_url");
    if (image) {
      const src = String(image);
      if (src.startsWith("/")) {
        const img = el("img", "item-image");
        img.src = src;
        img.alt = "Item " + item.external_id;
        itemBox.append(img);
      } else {
        itemBox.append(el("p", "muted", "Image: " + src));
      }
    }
    if (!image && keys.length === 1) {
      itemBox.append(el("p", "item-text", asText(data[keys[0]])));
    } else if (!image && texts.length === 2 && keys.length === 2) {
      const pair = el("div", "item-pair");
      for (const key of texts) {
        const part = el("div", "pair-part");
        part.append(el("div", "field-name", key), el("p", "item-text", data[key]));
        pair.append(part);
      }
      itemBox.append(pair);
    } else {
      const table = el("table", "fields");
      for (const key of keys) {
        if (image && (key === "image" || key === "image_url")) continue;
        const row = el("tr");
        row.append(el("th", "", key), el("td", "", asText(data[key])));
        table.append(row);
      }
      if (table.childElementCount) itemBox.append(table);
    }
  }

  window.Workbench = { api, el, renderItem };
})();
