// views/vm-users.js: the VM's Users tab. Who holds which permissions on the VM (vm.grants,
// or on servers without it each user's user.grants), a form to grant permissions to a
// user, optionally until a time, and a revoke button per user.
import { html, useState } from "../html.js";
import { t } from "../i18n.js";
import { call, session } from "../rpc.js";
import { Fault, Loading, Table, useLive, when } from "../ui.js";
import { aboutVm } from "./vm.js";

const PERMISSIONS = ["view", "power", "modify", "console", "admin"];

let methods = null;
const hasMethod = async (name) => (methods ??= call("system.listMethods").catch(() => [])).then((list) => list.includes(name));

/** The grants on VM `vm`, one row per user: [{user, username, permissions, until?}]. */
async function grantsOn(vm, users) {
  if (await hasMethod("vm.grants")) return byUser(await session.rpc("vm.grants", vm));
  const held = await Promise.all(users.map(async (user) =>
    (await session.rpc("user.grants", user.id)).filter((g) => g.vm === vm).map((g) => ({ ...g, user: user.id, username: user.username }))));
  return byUser(held.flat());
}

/** Grants of one permission each (or of several) gathered per user. */
function byUser(grants) {
  const users = new Map();
  for (const g of grants) {
    const row = users.get(g.user) ?? { user: g.user, username: g.username, permissions: [] };
    row.permissions.push(...(g.permissions ?? [g.permission]));
    if (g.until && (!row.until || g.until > row.until)) row.until = g.until;
    users.set(g.user, row);
  }
  const order = (p) => PERMISSIONS.indexOf(p);
  return [...users.values()].map((row) => ({ ...row, permissions: [...new Set(row.permissions)].sort((a, b) => order(a) - order(b)) }));
}

export default function VmUsers({ vm }) {
  if (!vm.permissions.includes("admin")) return html`<p class="notice">${t("vm.users.needAdmin")}</p>`;
  return html`<${Grants} vm=${vm} />`;
}

function Grants({ vm }) {
  const { data, error } = useLive(async () => {
    const users = await session.rpc("user.list");
    return { users, grants: await grantsOn(vm.id, users) };
  }, (e) => e.kind.startsWith("user.") || e.target_kind === "user" || aboutVm(vm.id)(e), [vm.id]);
  const [fault, setFault] = useState(null);
  if (!data) return html`<${Loading} error=${error} />`;
  const revoke = (g) => session.rpc("user.revoke", g.user, vm.id, g.permissions).then(() => setFault(null), setFault);
  return html`
    <h2 id="vm-grants">${t("vm.users.title")}</h2>
    <${Fault} error=${error} />
    <${Table} caption=${t("vm.users.caption")} rows=${data.grants} rowKey=${(g) => g.user} empty=${t("vm.users.none")} columns=${[
      { key: "username", label: t("vm.users.user") },
      { key: "permissions", label: t("vm.users.permissions"), value: (g) => g.permissions.map((p) => t(`vm.perm.${p}`)).join(", ") },
      { key: "until", label: t("vm.users.until"), render: (g) => (g.until ? when(g.until) : t("vm.users.forever")) },
      { key: "actions", label: t("vm.actions"), sortable: false, render: (g) => html`<div class="actions">
        <button type="button" class="danger" aria-label=${t("vm.users.revokeFrom", { user: g.username })} onClick=${() => revoke(g)}>${t("vm.users.revoke")}</button></div>` },
    ]} />
    <${Fault} error=${fault} />
    <${GrantForm} vm=${vm} users=${data.users} />`;
}

function GrantForm({ vm, users }) {
  const [fault, setFault] = useState(null);
  const [invalid, setInvalid] = useState("");
  const [done, setDone] = useState("");
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const data = new FormData(form);
    const permissions = PERMISSIONS.filter((p) => data.get(`perm-${p}`) === "on");
    setDone("");
    setInvalid(permissions.length === 0 ? t("vm.users.pickOne") : "");
    if (permissions.length === 0) return;
    const user = Number(data.get("user"));
    const until = data.get("until") ? [new Date(data.get("until"))] : [];
    try {
      setFault(null);
      await session.rpc("user.grant", user, vm.id, permissions, ...until);
      setDone(t("vm.users.granted", { user: users.find((u) => u.id === user)?.username ?? user }));
      form.reset();
    } catch (e) {
      setFault(e);
    }
  };
  return html`<h2 id="vm-grant">${t("vm.users.grant")}</h2>
    <form class="grid" aria-labelledby="vm-grant" onSubmit=${submit}>
      <label for="grant-user">${t("vm.users.user")}</label>
      <select id="grant-user" name="user" required>
        ${users.map((u) => html`<option value=${u.id}>${u.username}</option>`)}
      </select>
      <span id="grant-perms-label">${t("vm.users.permissions")}</span>
      <div class="toolbar" role="group" aria-labelledby="grant-perms-label">
        ${PERMISSIONS.map((p) => html`<label key=${p}><input type="checkbox" name=${`perm-${p}`} /> ${t(`vm.perm.${p}`)}</label>`)}
      </div>
      <label for="grant-until">${t("vm.users.untilOptional")}</label>
      <input id="grant-until" name="until" type="datetime-local" />
      <span></span>
      <div class="toolbar"><button type="submit" class="primary">${t("vm.users.grantButton")}</button></div>
    </form>
    <p class="error" role="alert">${invalid}</p>
    <${Fault} error=${fault} />
    <p role="status" class="muted">${done}</p>`;
}
