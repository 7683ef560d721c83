// The organisation page as a collapsible, searchable tree: rows carry data-id / data-parent / data-depth
// (in tree order); a toggle opens and closes a branch, the search shows matching rows with their ancestors.
export function initOrgTree(table) {
  if (!table || table.dataset.treeReady) return;
  table.dataset.treeReady = "1";
  const rows = [...table.querySelectorAll("tbody tr[data-id]")];
  const byId = new Map(rows.map((r) => [r.dataset.id, r]));
  const children = new Map();
  rows.forEach((r) => {
    const p = r.dataset.parent;
    if (!children.has(p)) children.set(p, []);
    children.get(p).push(r);
  });
  const open = new Set();
  rows.forEach((r) => {
    const kids = children.get(r.dataset.id) || [];
    const cell = r.querySelector("td");
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "btn btn-sm btn-link p-0 me-1 org-toggle";
    toggle.style.visibility = kids.length ? "visible" : "hidden";
    toggle.setAttribute("aria-label", "展开或收起");
    toggle.innerHTML = '<i class="bi bi-caret-right-fill"></i>';
    toggle.addEventListener("click", () => { setOpen(r, !open.has(r.dataset.id)); render(); });
    cell.prepend(toggle);
    if (kids.length) {
      const count = document.createElement("span");
      count.className = "badge text-bg-light ms-1";
      count.textContent = String(kids.length);
      cell.append(count);
    }
  });
  function setOpen(r, value) {
    if (value) open.add(r.dataset.id); else open.delete(r.dataset.id);
    const icon = r.querySelector(".org-toggle i");
    icon.className = value ? "bi bi-caret-down-fill" : "bi bi-caret-right-fill";
    r.setAttribute("aria-expanded", value ? "true" : "false");
  }
  function visible(r) {
    let p = r.dataset.parent;
    while (p && byId.has(p)) {
      if (!open.has(p)) return false;
      p = byId.get(p).dataset.parent;
    }
    return true;
  }
  function render() {
    rows.forEach((r) => { r.hidden = !visible(r); });
    table.setAttribute("data-shown", String(rows.filter((r) => !r.hidden).length));
  }
  // Start with the top two levels open.
  rows.filter((r) => Number(r.dataset.depth) < 1).forEach((r) => setOpen(r, true));
  render();
  const search = document.getElementById("org-tree-search");
  if (search) {
    search.addEventListener("input", () => {
      const q = search.value.trim().toLowerCase();
      if (!q) { rows.forEach((r) => r.classList.remove("table-warning")); render(); return; }
      const keep = new Set();
      rows.forEach((r) => {
        const hit = r.textContent.toLowerCase().includes(q);
        r.classList.toggle("table-warning", hit);
        if (hit) {
          keep.add(r);
          let p = r.dataset.parent;
          while (p && byId.has(p)) { keep.add(byId.get(p)); setOpen(byId.get(p), true); p = byId.get(p).dataset.parent; }
        }
      });
      rows.forEach((r) => { r.hidden = !keep.has(r); });
      table.setAttribute("data-shown", String(keep.size));
    });
  }
  const all = (value) => () => { rows.forEach((r) => { if ((children.get(r.dataset.id) || []).length) setOpen(r, value); }); render(); };
  const expand = document.getElementById("org-tree-expand");
  const collapse = document.getElementById("org-tree-collapse");
  if (expand) expand.addEventListener("click", all(true));
  if (collapse) collapse.addEventListener("click", all(false));
}
