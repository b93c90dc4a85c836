// views/user.js: one user's page (#/users/<id>): their account (email and language, role
// for admins), for admins enabling, disabling, resetting the password and deleting, their
// grants on VMs and their quota. Also what other views share: roles, languages, grants.
import { html, useState } from "../html.js";
import { LANGUAGES, t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Facts, Fault, Field, Loading, Section, Submit, Table, about, buttonsColumn, confirmed, kib, options, useAction, useLive, when } from "../ui.js";

export const ROLES = ["user", "operator", "admin"];
const PERMISSIONS = ["view", "power", "modify", "console", "admin"];

export const touchesUsers = (e) => e.target_kind === "user" || e.kind.startsWith("user.");

/** A language code as its own name when the page has a catalogue of it. */
export const languageName = (code) => LANGUAGES[code] ?? code;

/** Options of a language select: the page's languages, plus `current` as stored. */
export function LanguageOptions({ current }) {
  const codes = Object.keys(LANGUAGES);
  if (current && !codes.includes(current)) codes.push(current);
  return options(codes.map((code) => [code, code in LANGUAGES ? `${LANGUAGES[code]} (${code})` : code]));
}

/**
 * Grants (one permission each) gathered into one row per `key` ("vm" or "user"), made
 * by `row(grant)`: its permissions in the order of PERMISSIONS, and the latest `until`.
 */
export function gatherGrants(grants, key, row) {
  const rows = new Map();
  for (const g of grants) {
    if (!rows.has(g[key])) rows.set(g[key], { ...row(g), permissions: [] });
    const r = rows.get(g[key]);
    r.permissions.push(g.permission);
    if (g.until && (!r.until || g.until > r.until)) r.until = g.until;
  }
  for (const r of rows.values()) r.permissions.sort((a, b) => PERMISSIONS.indexOf(a) - PERMISSIONS.indexOf(b));
  return [...rows.values()];
}

/** The permissions in words. */
export const permissionsText = (permissions) => permissions.map((p) => t(`users.permission.${p}`)).join(", ");

/** The permission checkboxes of a grant form (its "permission" values), labelled by `id`. */
export function PermissionBoxes({ id, label }) {
  return html`<span id=${id}>${label}</span>
    <div class="toolbar" role="group" aria-labelledby=${id}>
      ${PERMISSIONS.map((p) => html`<label key=${p}><input type="checkbox" name="permission" value=${p} /> ${t(`users.permission.${p}`)}</label>`)}
    </div>`;
}

export default function UserPage({ id, me }) {
  const { data: user, error } = useLive(() => rpc("user.get", id), about("user", id), [id]);
  const back = html`<p><a href="#/users">${t("users.back")}</a></p>`;
  if (!user) return html`${back}<${Loading} error=${error} />`;
  const admin = me.role === "admin";
  const self = me.id === user.id;
  return html`${back}
    <h1>${user.username} ${user.disabled && html`<span class="badge bad">${t("users.disabledBadge")}</span>`}</h1>
    <${Fault} error=${error} />
    <${Facts} facts=${[
      [t("users.role"), t(`role.${user.role}`)],
      [t("users.email"), user.email || "–"],
      [t("users.language"), languageName(user.language)],
      [t("users.created"), when(user.created)],
    ]} />
    ${(admin || self) && html`<${AccountForm} key=${`${user.email}|${user.language}|${user.role}`} user=${user} admin=${admin} self=${self} />`}
    ${admin && html`<${AdminActions} user=${user} self=${self} />`}
    <${Grants} user=${user} admin=${admin && !self} />
    <${Quota} user=${user} admin=${admin} />`;
}

function AccountForm({ user, admin, self }) {
  const [draft, setDraft] = useState({ email: user.email, language: user.language, role: user.role });
  const edit = (key) => (e) => setDraft({ ...draft, [key]: e.target.value });
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    const wanted = { email: draft.email.trim(), language: draft.language, ...(admin && { role: draft.role }) };
    const changes = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => value !== user[key]));
    if (Object.keys(changes).length === 0) return action.run(async () => {}, t("users.unchanged"));
    return action.run(async () => {
      await rpc("user.update", user.id, changes);
      if (self && changes.language) location.reload();
    }, t("users.saved"));
  };
  return html`<${Section} id="account-title" title=${t("users.account")}>
    <form class="grid" aria-labelledby="account-title" onSubmit=${submit}>
      <${Field} id="user-email" label=${t("users.email")} type="email" value=${draft.email} onInput=${edit("email")} autocomplete="email" />
      <${Field} id="user-language" label=${t("users.language")} value=${draft.language} onChange=${edit("language")}>
        <${LanguageOptions} current=${user.language} />
      <//>
      ${admin && html`<${Field} id="user-role" label=${t("users.privileges")} value=${draft.role} onChange=${edit("role")} hint=${t("users.roleHint")}>
        ${options(ROLES.map((r) => [r, t(`role.${r}`)]))}
      <//>`}
      <${Submit} label=${t("users.save")} busy=${action.busy}>${action.status}<//>
    </form>
  <//>`;
}

function AdminActions({ user, self }) {
  const action = useAction();
  const [password, setPassword] = useState(null);
  const toggle = () => action.run(() => rpc("user.update", user.id, { disabled: !user.disabled }),
    user.disabled ? t("users.enabledNow") : t("users.disabledNow"));
  const reset = () => confirmed(t("users.resetConfirm", { name: user.username }),
    () => action.run(async () => setPassword(await rpc("user.resetPassword", user.id))));
  const remove = () => confirmed(t("users.deleteConfirm", { name: user.username }), () => action.run(async () => {
    await rpc("user.delete", user.id);
    location.hash = "#/users";
  }));
  return html`<${Section} id="actions-title" title=${t("users.actions")}>
    <div class="toolbar">
      <button type="button" disabled=${action.busy} onClick=${toggle}>${user.disabled ? t("users.enable") : t("users.disable")}</button>
      <button type="button" disabled=${action.busy} onClick=${reset}>${t("users.resetPassword")}</button>
      ${!self && html`<button type="button" class="danger" disabled=${action.busy} onClick=${remove}>${t("users.delete")}</button>`}
      ${action.status}
    </div>
    ${password && html`<div class="notice">
      <p id="new-password-label"><strong>${t("users.newPassword", { name: user.username })}</strong></p>
      <pre class="secret" aria-labelledby="new-password-label">${password}</pre>
      <button type="button" onClick=${() => setPassword(null)}>${t("users.passwordDone")}</button>
    </div>`}
  <//>`;
}

function Grants({ user, admin }) {
  const live = useLive(async () => {
    const [grants, vms] = await Promise.all([rpc("user.grants", user.id), rpc("vm.list")]);
    return { grants, vms };
  }, (e) => e.kind.startsWith("user.") || e.kind.startsWith("vm."), [user.id]);
  const action = useAction();

  const columns = [
    { key: "name", label: t("users.vm"), render: (r) => html`<a href=${`#/vms/${r.id}`}>${r.name}</a>` },
    { key: "permissions", label: t("users.permissions"), value: (r) => permissionsText(r.permissions) },
    { key: "until", label: t("users.until"), render: (r) => (r.until ? when(r.until) : t("users.forever")) },
  ];
  if (admin) {
    columns.push(buttonsColumn(t("users.actionsColumn"), (r) => [{
      text: t("users.revoke"), name: t("users.revokeFrom", { vm: r.name }), busy: action.busy,
      onClick: () => action.run(() => rpc("user.revoke", user.id, r.id, r.permissions), t("users.revoked")),
    }]));
  }
  const rows = ({ grants, vms }) => {
    const names = new Map(vms.map((vm) => [vm.id, vm.name]));
    return gatherGrants(grants, "vm", (g) => ({ id: g.vm, name: names.get(g.vm) ?? t("users.vmNumber", { id: g.vm }) }));
  };
  return html`<${Section} id="grants-title" title=${t("users.grants")} live=${live}>
    ${(data) => html`<${Table} caption=${t("users.grantsCaption", { name: user.username })} columns=${columns} rows=${rows(data)} empty=${t("users.noGrants")} />
      <div class="toolbar">${action.status}</div>
      ${admin && html`<${GrantForm} user=${user} vms=${data.vms} />`}`}
  <//>`;
}

function GrantForm({ user, vms }) {
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const permissions = form.getAll("permission");
    const vm = Number(form.get("vm"));
    if (!vm) return action.fail(t("users.chooseVm"));
    if (permissions.length === 0) return action.fail(t("users.choosePermission"));
    const until = form.get("until") ? [new Date(form.get("until"))] : [];
    return action.run(async () => {
      await rpc("user.grant", user.id, vm, permissions, ...until);
      event.target.reset();
    }, t("users.granted"));
  };
  return html`<h3 id="grant-title">${t("users.grantTitle", { name: user.username })}</h3>
  <form class="grid" aria-labelledby="grant-title" onSubmit=${submit}>
    <${Field} id="grant-vm" label=${t("users.vm")} name="vm" required>
      ${options([["", t("users.chooseVmOption")], ...vms.map((vm) => [vm.id, `${vm.name} (${vm.node_name})`])])}
    <//>
    <${PermissionBoxes} id="grant-permissions" label=${t("users.permissions")} />
    <${Field} id="grant-until" label=${t("users.until")} name="until" type="datetime-local" hint=${t("users.untilHint")} />
    <${Submit} label=${t("users.grant")} busy=${action.busy}>${action.status}<//>
  </form>`;
}

/** The quota's fields: [form field, label key, member, MiB shown for KiB?]. */
const QUOTA_FIELDS = [["vms", "users.quotaVms", "vms"], ["memory", "users.quotaMemory", "memory_kb", true], ["vcpus", "users.quotaVcpus", "vcpus"]];

function Quota({ user, admin }) {
  const live = useLive(() => rpc("user.getQuota", user.id), (e) => e.kind === "user.setQuota" && String(e.target) === String(user.id), [user.id]);
  const shown = (value, format = String) => (value === undefined || value === null ? t("users.unlimited") : format(value));
  return html`<${Section} id="quota-title" title=${t("users.quota")} live=${live}>
    ${(quota) => html`<${Facts} facts=${[
        [t("users.quotaVms"), shown(quota.vms), { "data-quota": "vms" }],
        [t("users.quotaMemoryShown"), shown(quota.memory_kb, kib), { "data-quota": "memory" }],
        [t("users.quotaVcpus"), shown(quota.vcpus), { "data-quota": "vcpus" }],
      ]} />
      ${admin && html`<${QuotaForm} key=${JSON.stringify(quota)} user=${user} quota=${quota} />`}`}
  <//>`;
}

function QuotaForm({ user, quota }) {
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const next = {};
    for (const [name, label, member, mib] of QUOTA_FIELDS) {
      const text = String(form.get(name)).trim();
      if (text === "") continue;
      const n = Number(text);
      if (!Number.isFinite(n) || n < 0 || (!mib && !Number.isInteger(n))) return action.fail(t("users.quotaInvalid", { what: t(label) }));
      next[member] = mib ? Math.round(n * 1024) : n;
    }
    return action.run(() => rpc("user.setQuota", user.id, next), t("users.saved"));
  };
  return html`<form class="grid" aria-label=${t("users.quotaForm", { name: user.username })} onSubmit=${submit}>
    ${QUOTA_FIELDS.map(([name, label, member, mib]) => html`
      <label for=${`quota-${name}`}>${t(label)}</label>
      <input id=${`quota-${name}`} name=${name} type="number" min="0" step=${mib ? "any" : "1"} inputmode="numeric"
        value=${quota[member] === undefined ? "" : mib ? quota[member] / 1024 : quota[member]} placeholder=${t("users.unlimited")} aria-describedby="quota-hint" />`)}
    <p class="hint" id="quota-hint">${t("users.quotaHint")}</p>
    <${Submit} label=${t("users.saveQuota")} busy=${action.busy}>${action.status}<//>
  </form>`;
}
