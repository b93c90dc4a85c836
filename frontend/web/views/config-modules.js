// views/config-modules.js: the Module Management tab: every module (module.list) with its
// layers, what it provides, its warning or refusal, and an Enabled checkbox (effective at
// once; Base always on). Admins also rescan the modules directory and configure modules.
import { html, useEffect, useState } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Loading, Submit, Table, options, useAction, useLive } from "../ui.js";

/** The module the server will not switch off. */
const BASE = "Base";
const LAYERS = ["frontend", "xmlrpc", "scheduler", "poller"];
const PROVIDED = ["transports", "actions", "collectors", "pages"];

export default function Modules({ me }) {
  const admin = me.role === "admin";
  const { data, error, reload } = useLive(() => loadModules(admin), (e) => e.target_kind === "module", [admin]);
  if (!data) return html`<${Loading} error=${error} />`;
  const columns = [
    { key: "name", label: t("config.moduleName") },
    {
      key: "enabled", label: t("config.enabled"), value: (m) => (m.enabled ? 1 : 0),
      render: (m) => html`<${EnabledSwitch} module=${m} admin=${admin} onDone=${reload} />`,
    },
    { key: "version", label: t("config.version"), value: (m) => m.version || undefined },
    { key: "layers", label: t("config.layers"), value: (m) => (m.layers ?? []).map((l) => (LAYERS.includes(l) ? t(`config.layer.${l}`) : l)).join(", ") || undefined },
    { key: "description", label: t("config.description") },
    {
      key: "provides", label: t("config.provides"), value: (m) => PROVIDED.flatMap((kind) => m.provides?.[kind] ?? []).join(" ") || undefined,
      render: (m) => provided(m.provides),
    },
    {
      key: "notes", label: t("config.notes"), value: (m) => [m.error, m.warning].filter(Boolean).join(" "),
      render: (m) => (m.error || m.warning ? html`
        ${m.error && html`<div class="error">${t("config.refusedBecause", { reason: m.error })}</div>`}
        ${m.warning && html`<div>${t("config.warning", { warning: m.warning })}</div>`}` : "–"),
    },
  ];
  return html`
    ${admin ? html`<${Rescan} onDone=${reload} />` : html`<p class="muted">${t("config.modulesReadOnly")}</p>`}
    <${Table} caption=${t("config.modulesCaption")} columns=${columns} rows=${data.modules} rowKey=${(m) => m.name} />
    ${admin && data.configurable.length > 0 && html`
      <section aria-labelledby="module-config">
        <h2 id="module-config">${t("config.moduleConfig")}</h2>
        ${data.configurable.map((m) => html`<${ModuleConfig} key=${m.name} module=${m} onSaved=${reload} />`)}
      </section>`}`;
}

/** The module list and, for admins, every loaded module with a configuration schema. */
async function loadModules(admin) {
  const modules = await rpc("module.list");
  if (!admin) return { modules, configurable: [] };
  const candidates = modules.filter((m) => !m.builtin && m.version);
  const details = await Promise.all(candidates.map((m) => rpc("module.get", m.name).catch(() => null)));
  return { modules, configurable: details.filter((d) => d?.schema && Object.keys(d.schema).length > 0) };
}

/** What a module provides, one line per kind. */
function provided(provides) {
  const kinds = PROVIDED.filter((kind) => provides?.[kind]?.length > 0);
  if (kinds.length === 0) return "–";
  return kinds.map((kind) => html`<div key=${kind}>${t(`config.provided.${kind}`)}: ${provides[kind].join(", ")}</div>`);
}

/**
 * The Enabled checkbox: none for a module that cannot run (it was refused), checked and
 * locked for Base, locked for everyone but admins and while a switch is on its way (it
 * shows the state asked for until the list is read again after the server's answer).
 */
function EnabledSwitch({ module, admin, onDone }) {
  const action = useAction();
  const [wanted, setWanted] = useState(null); // {on, answered}
  useEffect(() => setWanted((w) => (w?.answered || w?.on === module.enabled ? null : w)), [module]);
  if (module.error && !module.enabled) return html`<span class="badge bad">${t("config.cannotRun")}</span>`;
  const toggle = async () => {
    const on = !module.enabled;
    setWanted({ on, answered: false });
    setWanted((await action.run(() => rpc(on ? "module.enable" : "module.disable", module.name))) ? { on, answered: true } : null);
    onDone();
  };
  const on = wanted ? wanted.on : module.enabled;
  return html`<label>
      <input type="checkbox" aria-label=${t("config.enabledOf", { name: module.name })} checked=${on}
        disabled=${!admin || module.name === BASE || wanted !== null} onChange=${toggle} />
      <span aria-hidden="true">${on ? t("config.on") : t("config.off")}</span>
    </label>
    ${module.name === BASE && html`<span class="muted"> ${t("config.alwaysOn")}</span>`}
    <${Fault} error=${action.error} />`;
}

/** Look at the modules directory again; what was loaded or refused shows in the table. */
function Rescan({ onDone }) {
  const action = useAction();
  const rescan = async () => {
    await action.run(() => rpc("module.rescan"));
    onDone();
  };
  const loaded = action.result;
  return html`<div class="toolbar">
    <button type="button" onClick=${rescan} disabled=${action.busy}>${t("config.rescan")}</button>
    ${loaded && html`<span role="status">${loaded.length ? t("config.rescanLoaded", { names: loaded.join(", ") }) : t("config.rescanNothing")}</span>`}
    <${Fault} error=${action.error} />
  </div>`;
}

/** A module's configuration form, one field per option of its schema. */
function ModuleConfig({ module, onSaved }) {
  const schema = module.schema;
  const config = module.config ?? {};
  const [draft, setDraft] = useState({});
  const action = useAction();
  const configText = JSON.stringify(config);
  useEffect(() => setDraft({}), [configText]);
  const valueOf = (name) => (name in draft ? draft[name] : config[name]);
  const edit = (name, value) => {
    setDraft({ ...draft, [name]: value });
    action.reset();
  };
  const submit = async (event) => {
    event.preventDefault();
    const built = buildConfig(schema, valueOf);
    if (typeof built === "string") return action.fail(built);
    if (await action.run(() => rpc("module.configure", module.name, built), t("config.moduleSaved"))) onSaved();
  };
  const headingId = `module-config-${module.name}`;
  return html`<section aria-labelledby=${headingId}>
    <h3 id=${headingId}>${module.name}</h3>
    <form class="grid" onSubmit=${submit}>
      ${Object.entries(schema).map(([name, rule]) => html`<${ConfigField} key=${name} module=${module.name} name=${name}
        rule=${rule} value=${valueOf(name)} onEdit=${edit} />`)}
      <${Submit} label=${t("config.saveModule", { name: module.name })} busy=${action.busy}>
        ${action.done && html`<span role="status">${action.done}</span>`}
      <//>
    </form>
    <${Fault} error=${action.error} />
  </section>`;
}

/** The configuration to send (options left empty are left out: their default applies), or what is wrong. */
function buildConfig(schema, valueOf) {
  const out = {};
  for (const [name, rule] of Object.entries(schema)) {
    const value = valueOf(name);
    if (rule.type === "boolean") {
      if (value !== undefined) out[name] = Boolean(value);
      continue;
    }
    const text = value === undefined || value === null ? "" : String(value);
    if (text.trim() === "") {
      if (rule.required) return t("config.required", { name });
      continue;
    }
    if (rule.type === "integer" && !/^\s*-?\d+\s*$/.test(text)) return t("config.notInteger", { name });
    out[name] = rule.type === "integer" ? Number(text) : text;
  }
  return out;
}

/** One option's label, input (select, checkbox, number or text) and help. */
function ConfigField({ module, name, rule, value, onEdit }) {
  const id = `module-${module}-${name}`;
  const shown = value === undefined || value === null ? "" : String(value);
  const attributes = { id, "aria-describedby": rule.help ? `${id}-help` : undefined };
  const onInput = (e) => onEdit(name, e.target.value);
  let input;
  if (Array.isArray(rule.enum)) {
    // A choice goes back as its schema types it (a number stays a number).
    const choose = (e) => onEdit(name, e.target.value === "" ? undefined : rule.enum.find((c) => String(c) === e.target.value) ?? e.target.value);
    input = html`<select ...${attributes} required=${rule.required} value=${shown} onChange=${choose}>
      ${options([...(rule.required ? [] : [["", t("config.byDefault")]]), ...rule.enum.map(String)])}
    </select>`;
  } else if (rule.type === "boolean") {
    input = html`<input ...${attributes} type="checkbox" checked=${Boolean(value)} onChange=${(e) => onEdit(name, e.target.checked)} />`;
  } else if (rule.type === "integer") {
    input = html`<input ...${attributes} type="number" step="1" min=${rule.min} max=${rule.max} required=${rule.required} value=${shown} onInput=${onInput} />`;
  } else {
    input = html`<input ...${attributes} type="text" required=${rule.required} value=${shown} onInput=${onInput} />`;
  }
  return html`<label for=${id}>${name}${rule.required ? " *" : ""}</label>${input}
    ${rule.help && html`<p class="hint" id=${`${id}-help`}>${rule.help}</p>`}`;
}
