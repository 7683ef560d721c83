// Pickers of every page:
// - select[data-searchable] (organisation and other long lists): tom-select, searchable by name;
// - input[data-picker] (enterprise / user / organisation, server search): the field shows the chosen
//   name, the code goes to a hidden input carrying the field's name (a typed code is sent as it is);
// - input[type=date]: flatpickr in Chinese (年/月/日 shown next to the field, the value stays YYYY-MM-DD).
import flatpickr from "flatpickr";
import { Mandarin } from "flatpickr/dist/l10n/zh.js";
import TomSelect from "tom-select";

function searchable(select) {
  if (select.tomselect) return;
  // eslint-disable-next-line no-new
  new TomSelect(select, {
    maxOptions: 500,
    allowEmptyOption: true,
    searchField: ["text"],
    render: { no_results: () => '<div class="no-results">没有匹配的选项</div>' },
  });
}

function nameShown(input) {
  if (input.dataset.pickerReady) return;
  input.dataset.pickerReady = "1";
  const hidden = document.createElement("input");
  hidden.type = "hidden";
  hidden.name = input.name;
  hidden.value = input.value;
  hidden.disabled = input.disabled;
  hidden.dataset.pickerCode = input.id || "";
  input.removeAttribute("name");
  input.after(hidden);
  // Enabling / disabling the visible field (action panels) follows to the hidden one.
  new MutationObserver(() => { hidden.disabled = input.disabled; }).observe(input, { attributes: true, attributeFilter: ["disabled"] });
  const list = () => document.getElementById(input.getAttribute("list"));
  const sync = () => {
    const options = list() ? [...list().options] : [];
    const byCode = options.find((o) => o.value === input.value);
    const byName = options.find((o) => (o.label || o.textContent) === input.value);
    if (byCode && byCode.label) {
      hidden.value = byCode.value;
      input.value = byCode.label; // the name, never the code
    } else if (byName) {
      hidden.value = byName.value;
    } else {
      hidden.value = input.value;
    }
    input.dataset.code = hidden.value;
  };
  input.addEventListener("change", sync);
  // Picking from the list fires `input` with the option's value in the field; typing keeps the text.
  input.addEventListener("input", sync);
}

function showChinese(input, date) {
  let note = input.nextElementSibling;
  if (!note || !note.classList.contains("date-cn")) {
    note = document.createElement("span");
    note.className = "date-cn small text-muted ms-1";
    input.after(note);
  }
  note.textContent = date ? `${date.getFullYear()}年${date.getMonth() + 1}月${date.getDate()}日` : "";
}

function datePicker(input) {
  if (input._flatpickr) return;
  input.type = "text";
  input.setAttribute("autocomplete", "off");
  if (!input.placeholder) input.placeholder = "年-月-日";
  const fp = flatpickr(input, {
    locale: Mandarin,
    dateFormat: "Y-m-d",
    allowInput: true,
    disableMobile: true,
    onChange: (dates) => showChinese(input, dates[0]),
  });
  showChinese(input, fp.selectedDates[0]);
  input.addEventListener("change", () => {
    const parsed = fp.parseDate(input.value, "Y-m-d");
    showChinese(input, parsed && !Number.isNaN(parsed.getTime()) ? parsed : null);
  });
}

export function initPickers(root) {
  const scope = root && root.querySelectorAll ? root : document;
  scope.querySelectorAll("select[data-searchable]").forEach(searchable);
  scope.querySelectorAll("input[data-picker]").forEach(nameShown);
  scope.querySelectorAll('input[type="date"]').forEach(datePicker);
}
