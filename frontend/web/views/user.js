// views/user.js: one user's page (#/users/<id>). Their account (email and language, which
// users may change for themselves; role for admins), for admins enabling or disabling
// them, resetting their password (the new one shown once) and deleting them; their grants
// on VMs (granted and revoked here by admins) and their quota. Also what the list shares:
// the roles, the language select, which events touch users.
import { html, useState } from "../html.js";
import { LANGUAGES, t } from "../i18n.js";
import { RpcFault, session } from "../rpc.js";
import { Fault, Loading, Table, kib, useLive, when } from "../ui.js";

export const ROLES = ["user", "operator", "admin"];
const PERMISSIONS = ["view", "power", "modify", "console", "admin"];

export const touchesUsers = (e) => e.target_kind === "user" || e.kind.startsWith("user.");

/** A language code as its own name when the page has a catalogue of it. */
export const languageName = (code) => LANGUAGES[code] ?? code;

/** Options of a language select: the page's languages, plus `current` as stored. */
export function LanguageOptions({ current }) {
  const codes = Object.keys(LANGUAGES);
  if (current && !codes.includes(current)) codes.push(current);
  return codes.map((code) => html`<option key=${code} value=${code}>${code in LANGUAGES ? `${LANGUAGES[code]} (${code})` : code}</option>`);
}

export default function UserPage({ id, me }) {
  const { data: user, error } = useLive(
    () => session.rpc("user.get", id),
    (e) => e.target_kind === "user" && String(e.target) === String(id),
    [id],
  );
  const back = html`<p><a href="#/users">${t("users.back")}</a></p>`;
  if (!user) return html`${back}<${Loading} error=${error} />`;
  const admin = me.role === "admin";
  const self = me.id === user.id;
  return html`${back}
    <h1>${user.username} ${user.disabled && html`<span class="badge bad">${t("users.disabledBadge")}</span>`}</h1>
    <${Fault} error=${error} />
    <dl class="facts">
      <dt>${t("users.role")}</dt><dd>${t(`role.${user.role}`)}</dd>
      <dt>${t("users.email")}</dt><dd>${user.email || "–"}</dd>
      <dt>${t("users.language")}</dt><dd>${languageName(user.language)}</dd>
      <dt>${t("users.created")}</dt><dd>${when(user.created)}</dd>
    </dl>
    ${(admin || self) && html`<${AccountForm} key=${`${user.email}|${user.language}|${user.role}`} user=${user} admin=${admin} self=${self} />`}
    ${admin && html`<${AdminActions} user=${user} self=${self} />`}
    <${Grants} user=${user} admin=${admin && !self} />
    <${Quota} user=${user} admin=${admin} />`;
}

/** Run `work`, keeping its fault (or null) and whether it is on its way. */
function useAction() {
  const [state, setState] = useState({ busy: false, error: null, done: "" });
  const run = async (work, done = "") => {
    setState({ busy: true, error: null, done: "" });
    try {
      await work();
      setState({ busy: false, error: null, done });
    } catch (e) {
      setState({ busy: false, error: e, done: "" });
    }
  };
  const fail = (message) => setState({ busy: false, error: new RpcFault(4, message), done: "" });
  return [state, run, fail];
}

function AccountForm({ user, admin, self }) {
  const [email, setEmail] = useState(user.email);
  const [language, setLanguage] = useState(user.language);
  const [role, setRole] = useState(user.role);
  const [state, run] = useAction();
  const submit = (event) => {
    event.preventDefault();
    const changes = {};
    if (email.trim() !== user.email) changes.email = email.trim();
    if (language !== user.language) changes.language = language;
    if (admin && role !== user.role) changes.role = role;
    if (Object.keys(changes).length === 0) return run(async () => {}, t("users.unchanged"));
    return run(async () => {
      await session.rpc("user.update", user.id, changes);
      if (self && changes.language) location.reload();
    }, t("users.saved"));
  };
  return html`<section aria-labelledby="account-title">
    <h2 id="account-title">${t("users.account")}</h2>
    <form class="grid" aria-labelledby="account-title" onSubmit=${submit}>
      <label for="user-email">${t("users.email")}</label>
      <input id="user-email" type="email" value=${email} onInput=${(e) => setEmail(e.target.value)} autocomplete="email" />
      <label for="user-language">${t("users.language")}</label>
      <select id="user-language" value=${language} onChange=${(e) => setLanguage(e.target.value)}>
        <${LanguageOptions} current=${user.language} />
      </select>
      ${admin && html`<label for="user-role">${t("users.privileges")}</label>
        <select id="user-role" value=${role} onChange=${(e) => setRole(e.target.value)}>
          ${ROLES.map((r) => html`<option key=${r} value=${r}>${t(`role.${r}`)}</option>`)}
        </select>
        <p class="hint">${t("users.roleHint")}</p>`}
      <span></span>
      <div class="toolbar">
        <button type="submit" class="primary" disabled=${state.busy}>${t("users.save")}</button>
        <span role="status">${state.done}</span>
        <${Fault} error=${state.error} />
      </div>
    </form>
  </section>`;
}

function AdminActions({ user, self }) {
  const [state, run] = useAction();
  const [password, setPassword] = useState(null);
  const toggle = () => run(() => session.rpc("user.update", user.id, { disabled: !user.disabled }),
    user.disabled ? t("users.enabledNow") : t("users.disabledNow"));
  const reset = () => {
    if (!confirm(t("users.resetConfirm", { name: user.username }))) return;
    run(async () => setPassword(await session.rpc("user.resetPassword", user.id)));
  };
  const remove = () => {
    if (!confirm(t("users.deleteConfirm", { name: user.username }))) return;
    run(async () => {
      await session.rpc("user.delete", user.id);
      location.hash = "#/users";
    });
  };
  return html`<section aria-labelledby="actions-title">
    <h2 id="actions-title">${t("users.actions")}</h2>
    <div class="toolbar">
      <button type="button" disabled=${state.busy} onClick=${toggle}>${user.disabled ? t("users.enable") : t("users.disable")}</button>
      <button type="button" disabled=${state.busy} onClick=${reset}>${t("users.resetPassword")}</button>
      ${!self && html`<button type="button" class="danger" disabled=${state.busy} onClick=${remove}>${t("users.delete")}</button>`}
      <span role="status">${state.done}</span>
      <${Fault} error=${state.error} />
    </div>
    ${password && html`<div class="notice">
      <p id="new-password-label"><strong>${t("users.newPassword", { name: user.username })}</strong></p>
      <pre class="secret" aria-labelledby="new-password-label">${password}</pre>
      <button type="button" onClick=${() => setPassword(null)}>${t("users.passwordDone")}</button>
    </div>`}
  </section>`;
}

/** A user's grants, one row per VM with its permissions. */
function grantRows(grants, vms) {
  const names = new Map(vms.map((vm) => [vm.id, vm.name]));
  const rows = new Map();
  for (const grant of grants) {
    const row = rows.get(grant.vm) ?? { id: grant.vm, name: names.get(grant.vm) ?? t("users.vmNumber", { id: grant.vm }), permissions: [], until: grant.until };
    row.permissions.push(grant.permission);
    rows.set(grant.vm, row);
  }
  const order = (p) => PERMISSIONS.indexOf(p);
  for (const row of rows.values()) row.permissions.sort((a, b) => order(a) - order(b));
  return [...rows.values()];
}

function Grants({ user, admin }) {
  const { data, error } = useLive(async () => {
    const [grants, vms] = await Promise.all([session.rpc("user.grants", user.id), session.rpc("vm.list")]);
    return { grants, vms };
  }, (e) => e.kind.startsWith("user.") || e.kind.startsWith("vm."), [user.id]);
  const [state, run] = useAction();
  const revoke = (row) => run(() => session.rpc("user.revoke", user.id, row.id, row.permissions), t("users.revoked"));
  const columns = [
    { key: "name", label: t("users.vm"), render: (r) => html`<a href=${`#/vms/${r.id}`}>${r.name}</a>` },
    { key: "permissions", label: t("users.permissions"), value: (r) => r.permissions.map((p) => t(`users.permission.${p}`)).join(", ") },
    { key: "until", label: t("users.until"), render: (r) => (r.until ? when(r.until) : t("users.forever")) },
  ];
  if (admin) {
    columns.push({
      key: "actions", label: t("users.actionsColumn"), sortable: false,
      render: (r) => html`<div class="actions"><button type="button" disabled=${state.busy} onClick=${() => revoke(r)}
        aria-label=${t("users.revokeFrom", { vm: r.name })}>${t("users.revoke")}</button></div>`,
    });
  }
  return html`<section aria-labelledby="grants-title">
    <h2 id="grants-title">${t("users.grants")}</h2>
    ${data ? html`<${Fault} error=${error} />
      <${Table} caption=${t("users.grantsCaption", { name: user.username })} columns=${columns} rows=${grantRows(data.grants, data.vms)} empty=${t("users.noGrants")} />
      <div class="toolbar"><span role="status">${state.done}</span><${Fault} error=${state.error} /></div>
      ${admin && html`<${GrantForm} user=${user} vms=${data.vms} />`}`
      : html`<${Loading} error=${error} />`}
  </section>`;
}

function GrantForm({ user, vms }) {
  const [state, run, fail] = useAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const permissions = form.getAll("permission");
    const vm = Number(form.get("vm"));
    if (!vm) return fail(t("users.chooseVm"));
    if (permissions.length === 0) return fail(t("users.choosePermission"));
    const until = form.get("until");
    const params = until ? [user.id, vm, permissions, new Date(until)] : [user.id, vm, permissions];
    return run(async () => {
      await session.rpc("user.grant", ...params);
      event.target.reset();
    }, t("users.granted"));
  };
  return html`<h3 id="grant-title">${t("users.grantTitle", { name: user.username })}</h3>
  <form class="grid" aria-labelledby="grant-title" onSubmit=${submit}>
    <label for="grant-vm">${t("users.vm")}</label>
    <select id="grant-vm" name="vm" required>
      <option value="">${t("users.chooseVmOption")}</option>
      ${vms.map((vm) => html`<option key=${vm.id} value=${vm.id}>${vm.name} (${vm.node_name})</option>`)}
    </select>
    <span id="grant-permissions">${t("users.permissions")}</span>
    <div class="toolbar" role="group" aria-labelledby="grant-permissions">
      ${PERMISSIONS.map((p) => html`<label key=${p}><input type="checkbox" name="permission" value=${p} /> ${t(`users.permission.${p}`)}</label>`)}
    </div>
    <label for="grant-until">${t("users.until")}</label>
    <input id="grant-until" name="until" type="datetime-local" aria-describedby="grant-until-hint" />
    <p class="hint" id="grant-until-hint">${t("users.untilHint")}</p>
    <span></span>
    <div class="toolbar">
      <button type="submit" class="primary" disabled=${state.busy}>${t("users.grant")}</button>
      <span role="status">${state.done}</span>
      <${Fault} error=${state.error} />
    </div>
  </form>`;
}

const QUOTA_FIELDS = [
  ["vms", "users.quotaVms", (q) => q.vms, (n) => n],
  ["memory", "users.quotaMemory", (q) => (q.memory_kb === undefined ? undefined : q.memory_kb / 1024), (n) => Math.round(n * 1024)],
  ["vcpus", "users.quotaVcpus", (q) => q.vcpus, (n) => n],
];
const QUOTA_MEMBERS = { vms: "vms", memory: "memory_kb", vcpus: "vcpus" };

function Quota({ user, admin }) {
  const { data: quota, error } = useLive(
    () => session.rpc("user.getQuota", user.id),
    (e) => e.kind === "user.setQuota" && String(e.target) === String(user.id),
    [user.id],
  );
  const shown = (value, format = String) => (value === undefined || value === null ? t("users.unlimited") : format(value));
  return html`<section aria-labelledby="quota-title">
    <h2 id="quota-title">${t("users.quota")}</h2>
    ${quota ? html`<${Fault} error=${error} />
      <dl class="facts">
        <dt>${t("users.quotaVms")}</dt><dd data-quota="vms">${shown(quota.vms)}</dd>
        <dt>${t("users.quotaMemoryShown")}</dt><dd data-quota="memory">${shown(quota.memory_kb, kib)}</dd>
        <dt>${t("users.quotaVcpus")}</dt><dd data-quota="vcpus">${shown(quota.vcpus)}</dd>
      </dl>
      ${admin && html`<${QuotaForm} key=${JSON.stringify(quota)} user=${user} quota=${quota} />`}`
      : html`<${Loading} error=${error} />`}
  </section>`;
}

function QuotaForm({ user, quota }) {
  const [state, run, fail] = useAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const next = {};
    for (const [name, label, , toMember] of QUOTA_FIELDS) {
      const text = String(form.get(name)).trim();
      if (text === "") continue;
      const n = Number(text);
      if (!Number.isFinite(n) || n < 0 || (name !== "memory" && !Number.isInteger(n))) return fail(t("users.quotaInvalid", { what: t(label) }));
      next[QUOTA_MEMBERS[name]] = toMember(n);
    }
    return run(() => session.rpc("user.setQuota", user.id, next), t("users.saved"));
  };
  return html`<form class="grid" aria-label=${t("users.quotaForm", { name: user.username })} onSubmit=${submit}>
    ${QUOTA_FIELDS.map(([name, label, fromQuota]) => html`
      <label for=${`quota-${name}`}>${t(label)}</label>
      <input id=${`quota-${name}`} name=${name} type="number" min="0" step=${name === "memory" ? "any" : "1"} inputmode="numeric"
        value=${fromQuota(quota) ?? ""} placeholder=${t("users.unlimited")} aria-describedby="quota-hint" />`)}
    <p class="hint" id="quota-hint">${t("users.quotaHint")}</p>
    <span></span>
    <div class="toolbar">
      <button type="submit" class="primary" disabled=${state.busy}>${t("users.saveQuota")}</button>
      <span role="status">${state.done}</span>
      <${Fault} error=${state.error} />
    </div>
  </form>`;
}
