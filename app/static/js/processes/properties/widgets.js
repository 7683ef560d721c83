// Custom entries that need more than one input: the people picker (organisation filter + names),
// button choice with labels, per-field permissions and a set of checkboxes.
import { h } from "@bpmn-io/properties-panel/preact";
import { useState } from "@bpmn-io/properties-panel/preact/hooks";
import { useService } from "bpmn-js-properties-panel";

function splitList(value) {
  return (value || "").replace(/，/g, ",").split(",").map((x) => x.trim()).filter(Boolean);
}

function pairs(value) {
  return splitList(value).map((part) => {
    const i = part.indexOf(":");
    return i < 0 ? [part, ""] : [part.slice(0, i).trim(), part.slice(i + 1).trim()];
  });
}

function Row(props) {
  return h("div", { class: "bio-properties-panel-entry ducha-entry", "data-entry-id": props.id }, [
    h("label", { class: "bio-properties-panel-label", for: props.for }, props.label),
    props.children,
    props.description ? h("div", { class: "bio-properties-panel-description" }, props.description) : null,
  ]);
}

// Logins kept in the BPMN, names shown: an organisation filter, a name list to add from, chips to remove.
export function peopleEntry(element, id, label, config, access) {
  function Component() {
    const injector = useService("injector");
    const [org, setOrg] = useState("");
    const chosen = splitList(access.get());
    const byLogin = Object.fromEntries(config.users.map((u) => [u.login, u]));
    const orgName = Object.fromEntries(config.orgs.map((o) => [o.code, o.name]));
    const candidates = config.users.filter((u) => (!org || u.org === org) && !chosen.includes(u.login));
    const write = (list) => access.set(injector, list.join(","));
    return h(Row, { id, label, for: `${id}-add`, description: "保存的是登录名，界面显示姓名与机构" }, [
      h("ul", { class: "ducha-chips", "data-people": chosen.join(",") }, chosen.map((login) => {
        const u = byLogin[login];
        return h("li", { key: login }, [
          u ? `${u.name}（${orgName[u.org] || "未知机构"}）` : `${login}（未找到此人）`,
          h("button", { type: "button", class: "ducha-chip-x", title: "移除", "aria-label": "移除", onClick: () => write(chosen.filter((x) => x !== login)) }, "×"),
        ]);
      })),
      h("select", { class: "bio-properties-panel-input", name: `${id}-org`, "aria-label": "按机构筛选", value: org, onChange: (e) => setOrg(e.target.value) }, [
        h("option", { value: "" }, "全部机构"),
        ...config.orgs.filter((o) => config.users.some((u) => u.org === o.code)).map((o) => h("option", { value: o.code }, "\u3000".repeat(Math.max(0, o.depth)) + o.name)),
      ]),
      h("select", {
        class: "bio-properties-panel-input", id: `${id}-add`, name: `${id}-add`, value: "",
        onChange: (e) => { if (e.target.value) write(chosen.concat([e.target.value])); },
      }, [h("option", { value: "" }, "添加人员……"), ...candidates.map((u) => h("option", { value: u.login }, `${u.name}（${orgName[u.org] || ""}）`))]),
    ]);
  }
  return { id, element, component: Component };
}

// Which buttons a node shows and their labels: `approve:通过,reject:拒绝,...`.
export function buttonsEntry(element, id, label, all, defaults, access) {
  function Component() {
    const injector = useService("injector");
    const stored = pairs(access.get());
    const on = stored.length ? stored.map(([k]) => k) : defaults();
    const labels = Object.fromEntries(stored.filter(([, v]) => v));
    const write = (keys, names) => {
      const sameAsDefault = keys.join(",") === defaults().join(",") && !Object.keys(names).length;
      access.set(injector, sameAsDefault ? "" : keys.map((k) => (names[k] ? `${k}:${names[k]}` : k)).join(","));
    };
    return h(Row, { id, label, description: "不勾选任何自定义时使用节点类型的默认按钮" }, h("div", { class: "ducha-buttons" }, Object.keys(all).map((key) => {
      const checked = on.includes(key);
      return h("div", { class: "ducha-button-row", key }, [
        h("label", null, [
          h("input", { type: "checkbox", name: `button-${key}`, checked, onChange: (e) => {
            const keys = e.target.checked ? Object.keys(all).filter((k) => k === key || on.includes(k)) : on.filter((k) => k !== key);
            write(keys, labels);
          } }),
          ` ${all[key]}`,
        ]),
        h("input", { class: "bio-properties-panel-input", name: `button-label-${key}`, placeholder: all[key], value: labels[key] || "", disabled: !checked,
          "aria-label": `${all[key]}按钮文字`,
          onChange: (e) => write(on, { ...labels, [key]: e.target.value.trim() }) }),
      ]);
    })));
  }
  return { id, element, component: Component };
}

// A set of checkboxes stored as `a,b,c`.
export function checkSetEntry(element, id, label, options, access, description) {
  function Component() {
    const injector = useService("injector");
    const on = splitList(access.get());
    return h(Row, { id, label, description }, h("div", { class: "ducha-checkset" }, options.map(([key, text]) => h("label", { key, class: "me-2" }, [
      h("input", { type: "checkbox", name: `${id}-${key}`, checked: on.includes(key), onChange: (e) => {
        const next = options.map(([k]) => k).filter((k) => (k === key ? e.target.checked : on.includes(k)));
        access.set(injector, next.join(","));
      } }),
      ` ${text}`,
    ]))));
  }
  return { id, element, component: Component };
}

// Per form field: 默认 / 可编辑 / 只读 / 隐藏, stored as `field:readonly,...`.
export function fieldPermissionsEntry(element, id, label, fields, access) {
  function Component() {
    const injector = useService("injector");
    const current = Object.fromEntries(pairs(access.get()));
    const list = fields();
    const known = list.map(([k]) => k);
    const extra = Object.keys(current).filter((k) => !known.includes(k)).map((k) => [k, `${k}（表单中没有）`]);
    const write = (key, value) => {
      const next = { ...current, [key]: value };
      if (!value) delete next[key];
      access.set(injector, Object.entries(next).map(([k, v]) => `${k}:${v}`).join(","));
    };
    if (!list.length && !extra.length) {
      return h(Row, { id, label }, h("div", { class: "text-muted small" }, "先选择本节点的表单"));
    }
    return h(Row, { id, label }, h("table", { class: "ducha-field-perms" }, h("tbody", null, list.concat(extra).map(([key, title]) => h("tr", { key }, [
      h("td", null, title),
      h("td", null, h("select", { class: "bio-properties-panel-input", name: `perm-${key}`, "aria-label": `${title}的权限`, value: current[key] || "", onChange: (e) => write(key, e.target.value) }, [
        ["", "默认"], ["edit", "可编辑"], ["readonly", "只读"], ["hidden", "隐藏"],
      ].map(([v, l]) => h("option", { value: v }, l)))),
    ])))));
  }
  return { id, element, component: Component };
}
