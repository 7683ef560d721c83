// 知识智库 picker on officers' forms: suggests the top 5 violations and guides (with the article) for the
// text typed in the form's long fields; a click appends the entry to the field and records where it was used.
(function () {
  function init(field) {
    if (field.dataset.pickerReady) return;
    field.dataset.pickerReady = "1";
    const box = document.getElementById(field.id + "-suggestions");
    const form = field.form;
    // The text read: the fields named by data-knowledge-sources, else the form's other long fields.
    const picked = field.dataset.knowledgeSources;
    const sources = !form ? [] : picked ? [...form.querySelectorAll(picked)]
      : [...form.querySelectorAll("textarea")].filter((t) => t !== field);
    // data-knowledge-ids names a hidden input: the form records the use when it is saved (the inspection);
    // without it the use is recorded at the click (the clue 处理 task).
    const ids = field.dataset.knowledgeIds && form ? form.querySelector("input[name=" + field.dataset.knowledgeIds + "]") : null;
    let timer = null;
    function text() { return sources.map((t) => t.value).join(" ").slice(-300); }
    function render(items) {
      box.replaceChildren();
      items.forEach((it) => {
        const a = document.createElement("button");
        a.type = "button";
        a.className = "list-group-item list-group-item-action";
        a.textContent = it.title + (it.article ? "（" + it.article + "）" : "");
        a.addEventListener("click", () => pick(it));
        box.appendChild(a);
      });
    }
    function pick(it) {
      const line = it.title + (it.article ? "（" + it.article + "）" : "");
      if (!field.value.includes(line)) field.value = (field.value ? field.value + "\n" : "") + line;
      if (ids) {
        const list = ids.value ? ids.value.split(",") : [];
        if (!list.includes(String(it.id))) list.push(String(it.id));
        ids.value = list.join(",");
        return;
      }
      const context = field.dataset.knowledgeContext || "clue_handle";
      const body = new URLSearchParams({ context, ref: document.title, url: location.pathname });
      const token = form && form.querySelector("input[name=csrf_token]");
      if (token) body.set("csrf_token", token.value);
      fetch("/knowledge/entries/" + it.id + "/use", { method: "POST", body, credentials: "same-origin" });
    }
    function ask() {
      const q = text().trim();
      if (q.length < 2) { box.replaceChildren(); return; }
      fetch(field.dataset.knowledgePicker + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { items: [] }))
        .then((d) => render(d.items || []))
        .catch(() => {});
    }
    sources.forEach((t) => t.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 400); }));
    ask();
  }
  function all() { document.querySelectorAll("textarea[data-knowledge-picker]").forEach(init); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();
