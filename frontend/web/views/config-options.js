// views/config-options.js: the Global Options tab: every option with its value, default
// and help (config.describe, config.get), kept current. Admins save the changed values
// with config.set; the server checks all before writing any, and its refusal names the option.
import { html, useState } from "../html.js";
import { LANGUAGES, t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Loading, Table, faultText, options, useAction, useLive } from "../ui.js";

export default function Options({ me }) {
  const admin = me.role === "admin";
  const { data, error } = useLive(async () => {
    const [described, values] = await Promise.all([rpc("config.describe"), rpc("config.get")]);
    return described.map((d) => ({ ...d, value: values[d.name] }));
  }, (e) => e.target_kind === "config");
  const [draft, setDraft] = useState({});
  // What was just saved, shown until the options are read again after `base`.
  const [justSaved, setJustSaved] = useState({ base: null, values: {} });
  const action = useAction();
  if (!data) return html`<${Loading} error=${error} />`;
  const current = (row) => (justSaved.base === data ? justSaved.values[row.name] : undefined) ?? textOf(row.value);
  const changed = data.filter((row) => row.name in draft && draft[row.name] !== current(row));
  const faulty = action.error ? data.find((row) => faultText(action.error).includes(row.name))?.name : undefined;
  const edit = (name, text) => {
    setDraft({ ...draft, [name]: text });
    action.reset();
  };
  const submit = (event) => {
    event.preventDefault();
    const values = {};
    for (const row of changed) {
      values[row.name] = typeof row.value !== "number" ? draft[row.name] : /^\s*-?\d+\s*$/.test(draft[row.name]) ? Number(draft[row.name]) : undefined;
      if (values[row.name] === undefined) return action.fail(t("config.notInteger", { name: row.name }));
    }
    if (changed.length === 0) return action.fail(t("config.nothingChanged"));
    const base = data;
    action.run(async () => {
      await rpc("config.set", values);
      const names = Object.keys(values);
      setJustSaved({ base, values: Object.fromEntries(names.map((name) => [name, String(values[name])])) });
      setDraft((d) => Object.fromEntries(Object.entries(d).filter(([name]) => !names.includes(name))));
    }, t("config.optionsSaved"));
  };
  const columns = [
    { key: "name", label: t("config.option") },
    {
      key: "value", label: t("config.value"), value: (row) => textOf(row.value),
      render: (row) => admin
        ? html`<${OptionInput} row=${row} text=${draft[row.name] ?? current(row)} invalid=${row.name === faulty} onEdit=${edit} />`
        : textOf(row.value),
    },
    { key: "default", label: t("config.default") },
    { key: "help", label: t("config.help") },
  ];
  const table = html`<${Table} caption=${t("config.optionsCaption")} columns=${columns} rows=${data} rowKey=${(row) => row.name} />`;
  if (!admin) return html`<p class="muted">${t("config.optionsReadOnly")}</p>${table}`;
  return html`<form onSubmit=${submit} aria-label=${t("config.optionsCaption")}>
    ${table}
    <div class="toolbar">
      <button type="submit" class="primary" disabled=${action.busy}>${t("config.saveOptions")}</button>
      <button type="button" disabled=${changed.length === 0} onClick=${() => { setDraft({}); action.reset(); }}>${t("config.undo")}</button>
      ${changed.length > 0 && html`<span class="muted">${t("config.unsaved", { count: changed.length })}</span>`}
      ${action.done && html`<span role="status">${action.done}</span>`}
    </div>
    <${Fault} id="options-fault" error=${action.error} />
  </form>`;
}

const textOf = (value) => (value === undefined || value === null ? "" : String(value));

/** The input of one option: a number, a language, or text. */
function OptionInput({ row, text, invalid, onEdit }) {
  const attributes = {
    id: `option-${row.name}`,
    "aria-label": row.name,
    "aria-invalid": invalid ? "true" : undefined,
    "aria-describedby": invalid ? "options-fault" : undefined,
    value: text,
  };
  if (row.name === "default_language") {
    const languages = Object.keys(LANGUAGES);
    if (text && !(text in LANGUAGES)) languages.push(text);
    return html`<select ...${attributes} onChange=${(e) => onEdit(row.name, e.target.value)}>
      ${options(languages.map((code) => [code, `${LANGUAGES[code] ?? code} (${code})`]))}
    </select>`;
  }
  const type = typeof row.value === "number" ? { type: "number", step: "1", inputmode: "numeric" } : { type: "text" };
  return html`<input ...${attributes} ...${type} onInput=${(e) => onEdit(row.name, e.target.value)} />`;
}
