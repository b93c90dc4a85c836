// views/config-options.js: the Global Options tab: every option with its value, default
// and help (config.describe, config.get), re-read when the options change elsewhere.
// Admins edit the values and save only the changed ones with config.set; the server
// checks all before writing any, and its refusal names the option. Others only read.
import { html, useState } from "../html.js";
import { LANGUAGES, t } from "../i18n.js";
import { session } from "../rpc.js";
import { Fault, Loading, Table, faultText, useLive } from "../ui.js";

export default function Options({ me }) {
  const admin = me.role === "admin";
  const { data, error } = useLive(async () => {
    const [described, values] = await Promise.all([session.rpc("config.describe"), session.rpc("config.get")]);
    return described.map((d) => ({ ...d, value: values[d.name] }));
  }, (e) => e.target_kind === "config");
  const [draft, setDraft] = useState({});
  // What was just saved, shown until the options are read again after `base`.
  const [justSaved, setJustSaved] = useState({ base: null, values: {} });
  const [outcome, setOutcome] = useState({ error: null, saved: false, busy: false });
  if (!data) return html`<${Loading} error=${error} />`;
  const current = (row) => (justSaved.base === data ? justSaved.values[row.name] : undefined) ?? textOf(row.value);
  const changed = data.filter((row) => row.name in draft && draft[row.name] !== current(row));
  const faulty = outcome.error ? data.find((row) => faultText(outcome.error).includes(row.name))?.name : undefined;
  const edit = (name, text) => {
    setDraft({ ...draft, [name]: text });
    setOutcome({ error: null, saved: false, busy: false });
  };
  const submit = async (event) => {
    event.preventDefault();
    const options = {};
    for (const row of changed) {
      const value = parse(row, draft[row.name]);
      if (value === undefined) return setOutcome({ error: t("config.notInteger", { name: row.name }), saved: false, busy: false });
      options[row.name] = value;
    }
    if (changed.length === 0) return setOutcome({ error: t("config.nothingChanged"), saved: false, busy: false });
    setOutcome({ error: null, saved: false, busy: true });
    const base = data;
    try {
      await session.rpc("config.set", options);
      const names = Object.keys(options);
      setJustSaved({ base, values: Object.fromEntries(names.map((name) => [name, String(options[name])])) });
      setDraft((d) => Object.fromEntries(Object.entries(d).filter(([name]) => !names.includes(name))));
      setOutcome({ error: null, saved: true, busy: false });
    } catch (e) {
      setOutcome({ error: e, saved: false, busy: false });
    }
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
  return html`<form onSubmit=${submit} aria-label=${t("config.optionsForm")}>
    ${table}
    <div class="toolbar">
      <button type="submit" class="primary" disabled=${outcome.busy}>${t("config.saveOptions")}</button>
      <button type="button" disabled=${changed.length === 0} onClick=${() => { setDraft({}); setOutcome({ error: null, saved: false, busy: false }); }}>${t("config.undo")}</button>
      ${changed.length > 0 && html`<span class="muted">${t("config.unsaved", { count: changed.length })}</span>`}
      ${outcome.saved && html`<span role="status">${t("config.optionsSaved")}</span>`}
    </div>
    ${typeof outcome.error === "string"
      ? html`<p class="error" role="alert" id="options-fault">${outcome.error}</p>`
      : outcome.error && html`<div id="options-fault"><${Fault} error=${outcome.error} /></div>`}
  </form>`;
}

const textOf = (value) => (value === undefined || value === null ? "" : String(value));

/** The value to send for an option's text: a whole number where the option holds one. */
function parse(row, text) {
  if (typeof row.value !== "number") return text;
  return /^\s*-?\d+\s*$/.test(text) ? Number(text) : undefined;
}

/** The input of one option: a number, a language, or text. */
function OptionInput({ row, text, invalid, onEdit }) {
  const common = {
    id: `option-${row.name}`,
    "aria-label": row.name,
    "aria-invalid": invalid ? "true" : undefined,
    "aria-describedby": invalid ? "options-fault" : undefined,
  };
  if (row.name === "default_language") {
    const languages = { ...LANGUAGES };
    if (text && !(text in languages)) languages[text] = text;
    return html`<select ...${common} value=${text} onChange=${(e) => onEdit(row.name, e.target.value)}>
      ${Object.entries(languages).map(([code, name]) => html`<option value=${code}>${name} (${code})</option>`)}
    </select>`;
  }
  if (typeof row.value === "number") {
    return html`<input ...${common} type="number" step="1" inputmode="numeric" value=${text} onInput=${(e) => onEdit(row.name, e.target.value)} />`;
  }
  return html`<input ...${common} type="text" value=${text} onInput=${(e) => onEdit(row.name, e.target.value)} />`;
}
