// views/vm-users.js: the VM's Users tab: who holds which permissions on the VM
// (vm.grants), granting permissions to a user (optionally until a time), revoking them.
import { html } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Field, Loading, Submit, Table, buttonsColumn, options, useAction, useLive, when } from "../ui.js";
import { PermissionBoxes, gatherGrants, permissionsText } from "./user.js";
import { aboutVm } from "./vm.js";

export default function VmUsers({ vm }) {
  if (!vm.permissions.includes("admin")) return html`<p class="notice">${t("vm.users.needAdmin")}</p>`;
  return html`<${Grants} vm=${vm} />`;
}

function Grants({ vm }) {
  const { data, error } = useLive(async () => {
    const [users, grants] = await Promise.all([rpc("user.list"), rpc("vm.grants", vm.id)]);
    return { users, grants: gatherGrants(grants, "user", (g) => ({ user: g.user, username: g.username })) };
  }, (e) => e.kind.startsWith("user.") || e.target_kind === "user" || aboutVm(vm.id)(e), [vm.id]);
  const action = useAction();
  if (!data) return html`<${Loading} error=${error} />`;
  return html`
    <h2 id="vm-grants">${t("vm.users.title")}</h2>
    <${Fault} error=${error} />
    <${Table} caption=${t("vm.users.caption")} rows=${data.grants} rowKey=${(g) => g.user} empty=${t("vm.users.none")} columns=${[
      { key: "username", label: t("users.user") },
      { key: "permissions", label: t("users.permissions"), value: (g) => permissionsText(g.permissions) },
      { key: "until", label: t("users.until"), render: (g) => (g.until ? when(g.until) : t("vm.users.forever")) },
      buttonsColumn(t("vm.actions"), (g) => [{
        text: t("users.revoke"), name: t("vm.users.revokeFrom", { user: g.username }), danger: true,
        onClick: () => action.run(() => rpc("user.revoke", g.user, vm.id, g.permissions)),
      }]),
    ]} />
    ${action.status}
    <${GrantForm} vm=${vm} users=${data.users} />`;
}

function GrantForm({ vm, users }) {
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const permissions = form.getAll("permission");
    if (permissions.length === 0) return action.fail(t("vm.users.pickOne"));
    const user = Number(form.get("user"));
    const until = form.get("until") ? [new Date(form.get("until"))] : [];
    const username = users.find((u) => u.id === user)?.username ?? user;
    action.run(async () => {
      await rpc("user.grant", user, vm.id, permissions, ...until);
      event.target.reset();
    }, t("vm.users.granted", { user: username }));
  };
  return html`<h2 id="vm-grant">${t("vm.users.grant")}</h2>
    <form class="grid" aria-labelledby="vm-grant" onSubmit=${submit}>
      <${Field} id="grant-user" label=${t("users.user")} name="user" required>${options(users.map((u) => [u.id, u.username]))}<//>
      <${PermissionBoxes} id="grant-perms-label" label=${t("users.permissions")} />
      <${Field} id="grant-until" label=${t("vm.users.untilOptional")} name="until" type="datetime-local" />
      <${Submit} label=${t("users.grant")}>${action.status}<//>
    </form>`;
}
