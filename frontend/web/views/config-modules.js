// views/config-modules.js: the Module Management tab: every module (module.list) with
// its layers, what it provides, its warning or why it was refused, and an Enabled
// checkbox (module.enable / module.disable, effective at once; Base always on). Admins
// also rescan the modules directory and edit each loaded module's configuration in a
// form made from its schema (module.get, module.configure). Others only read.
import { html, useEffect, useState } from "../html.js";
import { t } from "../i18n.js";
import { session } from "../rpc.js";
import { Fault, Loading, Table, useLive } from "../ui.js";

/** The module the server will not switch off. */
const BASE = "Base";

export default function Modules({ me }) {
  const admin = me.role === "admin";
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  const { data, error } = useLive(() => loadModules(admin), (e) => e.target_kind === "module", [admin, version]);
  // Switches on their way (name → {on, answered}) until the list is read again after
  // the server's answer, and their faults.
  const [wanted, setWanted] = useState({});
  const [faults, setFaults] = useState({});
  useEffect(() => {
    if (data) setWanted((w) => without(w, data.modules.filter((m) => w[m.name]?.answered || w[m.name]?.on === m.enabled).map((m) => m.name)));
  }, [data]);
  if (!data) return html`<${Loading} error=${error} />`;
  const toggle = async (module) => {
    const on = !module.enabled;
    setWanted((w) => ({ ...w, [module.name]: { on, answered: false } }));
    setFaults((f) => without(f, [module.name]));
    try {
      await session.rpc(on ? "module.enable" : "module.disable", module.name);
      setWanted((w) => ({ ...w, [module.name]: { on, answered: true } }));
    } catch (e) {
      setWanted((w) => without(w, [module.name]));
      setFaults((f) => ({ ...f, [module.name]: e }));
    }
    reload();
  };
  const columns = [
    { key: "name", label: t("config.moduleName") },
    {
      key: "enabled", label: t("config.enabled"), value: (m) => (m.enabled ? 1 : 0),
      render: (m) => html`<${EnabledSwitch} module=${m} admin=${admin} wanted=${wanted[m.name]?.on}
        error=${faults[m.name]} onToggle=${toggle} />`,
    },
    { key: "version", label: t("config.version"), value: (m) => m.version || undefined },
    { key: "layers", label: t("config.layers"), value: (m) => layersText(m.layers) || undefined },
    { key: "description", label: t("config.description") },
    { key: "provides", label: t("config.provides"), value: (m) => providesText(m.provides), render: (m) => html`<${Provides} provides=${m.provides} />` },
    { key: "notes", label: t("config.notes"), value: (m) => [m.error, m.warning].filter(Boolean).join(" "), render: (m) => html`<${Notes} module=${m} />` },
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
  const modules = await session.rpc("module.list");
  if (!admin) return { modules, configurable: [] };
  const candidates = modules.filter((m) => !m.builtin && m.version);
  const details = await Promise.all(candidates.map((m) => session.rpc("module.get", m.name).catch(() => null)));
  return { modules, configurable: details.filter((d) => d?.schema && Object.keys(d.schema).length > 0) };
}

const without = (map, names) => Object.fromEntries(Object.entries(map).filter(([name]) => !names.includes(name)));

const LAYERS = ["frontend", "xmlrpc", "scheduler", "poller"];

function layersText(layers = []) {
  return layers.map((layer) => (LAYERS.includes(layer) ? t(`config.layer.${layer}`) : layer)).join(", ");
}

const PROVIDED = ["transports", "actions", "collectors", "pages"];

function providesText(provides = {}) {
  return PROVIDED.flatMap((kind) => provides[kind] ?? []).join(" ") || undefined;
}

function Provides({ provides }) {
  const kinds = PROVIDED.filter((kind) => provides?.[kind]?.length > 0);
  if (kinds.length === 0) return "–";
  return kinds.map((kind) => html`<div key=${kind}>${t(`config.provides.${kind}`)}: ${provides[kind].join(", ")}</div>`);
}

function Notes({ module }) {
  if (!module.error && !module.warning) return "–";
  return html`
    ${module.error && html`<div class="error">${t("config.refusedBecause", { reason: module.error })}</div>`}
    ${module.warning && html`<div>${t("config.warning", { warning: module.warning })}</div>`}`;
}

/**
 * The Enabled checkbox: none for a module that cannot run (it was refused), checked and
 * locked for Base, locked for everyone but admins and while a switch is on its way.
 */
function EnabledSwitch({ module, admin, wanted, error, onToggle }) {
  if (module.error && !module.enabled) return html`<span class="badge bad">${t("config.cannotRun")}</span>`;
  const pending = wanted !== undefined;
  const on = pending ? wanted : module.enabled;
  const locked = !admin || module.name === BASE || pending;
  return html`<label>
      <input type="checkbox" aria-label=${t("config.enabledOf", { name: module.name })} checked=${on}
        disabled=${locked} onChange=${() => onToggle(module)} />
      <span aria-hidden="true">${on ? t("config.on") : t("config.off")}</span>
    </label>
    ${module.name === BASE && html`<span class="muted"> ${t("config.alwaysOn")}</span>`}
    <${Fault} error=${error} />`;
}

/** Look at the modules directory again; what was loaded or refused shows in the table. */
function Rescan({ onDone }) {
  const [outcome, setOutcome] = useState({ busy: false, error: null, loaded: null });
  const rescan = async () => {
    setOutcome({ busy: true, error: null, loaded: null });
    try {
      const loaded = await session.rpc("module.rescan");
      setOutcome({ busy: false, error: null, loaded });
    } catch (e) {
      setOutcome({ busy: false, error: e, loaded: null });
    }
    onDone();
  };
  return html`<div class="toolbar">
    <button type="button" onClick=${rescan} disabled=${outcome.busy}>${t("config.rescan")}</button>
    ${outcome.loaded && html`<span role="status">${outcome.loaded.length
      ? t("config.rescanLoaded", { names: outcome.loaded.join(", ") })
      : t("config.rescanNothing")}</span>`}
    <${Fault} error=${outcome.error} />
  </div>`;
}

/** A module's configuration form, one field per option of its schema. */
function ModuleConfig({ module, onSaved }) {
  const schema = module.schema;
  const config = module.config ?? {};
  const [draft, setDraft] = useState({});
  const [outcome, setOutcome] = useState({ busy: false, error: null, saved: false });
  const configText = JSON.stringify(config);
  useEffect(() => setDraft({}), [configText]);
  const valueOf = (name) => (name in draft ? draft[name] : config[name]);
  const edit = (name, value) => {
    setDraft({ ...draft, [name]: value });
    setOutcome({ busy: false, error: null, saved: false });
  };
  const submit = async (event) => {
    event.preventDefault();
    const built = buildConfig(schema, valueOf);
    if (typeof built === "string") return setOutcome({ busy: false, error: built, saved: false });
    setOutcome({ busy: true, error: null, saved: false });
    try {
      await session.rpc("module.configure", module.name, built);
      setOutcome({ busy: false, error: null, saved: true });
      onSaved();
    } catch (e) {
      setOutcome({ busy: false, error: e, saved: false });
    }
  };
  const headingId = `module-config-${module.name}`;
  return html`<section aria-labelledby=${headingId}>
    <h3 id=${headingId}>${module.name}</h3>
    <form class="grid" onSubmit=${submit}>
      ${Object.entries(schema).map(([name, rule]) => html`<${ConfigField} key=${name} module=${module.name} name=${name}
        rule=${rule} value=${valueOf(name)} onEdit=${edit} />`)}
      <span></span>
      <div class="toolbar">
        <button type="submit" class="primary" disabled=${outcome.busy}>${t("config.saveModule", { name: module.name })}</button>
        ${outcome.saved && html`<span role="status">${t("config.moduleSaved")}</span>`}
      </div>
    </form>
    ${typeof outcome.error === "string"
      ? html`<p class="error" role="alert">${outcome.error}</p>`
      : html`<${Fault} error=${outcome.error} />`}
  </section>`;
}

/** The configuration to send: options left empty are left out (their default applies). */
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
    if (rule.type === "integer") {
      if (!/^\s*-?\d+\s*$/.test(text)) return t("config.notInteger", { name });
      out[name] = Number(text);
    } else {
      out[name] = text;
    }
  }
  return out;
}

/** One option's label, input (select, checkbox, number or text) and help. */
function ConfigField({ module, name, rule, value, onEdit }) {
  const id = `module-${module}-${name}`;
  const label = html`<label for=${id}>${name}${rule.required ? " *" : ""}</label>`;
  const hint = rule.help && html`<p class="hint" id=${`${id}-help`}>${rule.help}</p>`;
  const described = rule.help ? `${id}-help` : undefined;
  const shown = value === undefined || value === null ? "" : String(value);
  let input;
  if (Array.isArray(rule.enum)) {
    input = html`<select id=${id} aria-describedby=${described} required=${rule.required} value=${shown}
        onChange=${(e) => onEdit(name, parseChoice(rule, e.target.value))}>
      ${!rule.required && html`<option value="">${t("config.byDefault")}</option>`}
      ${rule.enum.map((choice) => html`<option value=${String(choice)}>${String(choice)}</option>`)}
    </select>`;
  } else if (rule.type === "boolean") {
    input = html`<input id=${id} type="checkbox" aria-describedby=${described} checked=${Boolean(value)}
      onChange=${(e) => onEdit(name, e.target.checked)} />`;
  } else if (rule.type === "integer") {
    input = html`<input id=${id} type="number" step="1" min=${rule.min} max=${rule.max} aria-describedby=${described}
      required=${rule.required} value=${shown} onInput=${(e) => onEdit(name, e.target.value)} />`;
  } else {
    input = html`<input id=${id} type="text" aria-describedby=${described} required=${rule.required} value=${shown}
      onInput=${(e) => onEdit(name, e.target.value)} />`;
  }
  return html`${label}${input}${hint}`;
}

/** An enum's choice as its schema types it. */
function parseChoice(rule, text) {
  if (text === "") return undefined;
  const match = rule.enum.find((choice) => String(choice) === text);
  return match ?? text;
}
