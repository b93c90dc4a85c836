// views/users.js: the Users section: the live list of users (just yourself for plain
// users), adding a user (admins), and for #/users/<id> one user's page (views/user.js).
import { html, useState } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Field, Loading, Submit, Table, options, useAction, useLive, when } from "../ui.js";
import UserPage, { LanguageOptions, ROLES, languageName, touchesUsers } from "./user.js";

export default function Users({ route, me }) {
  if (route[1]) return html`<${UserPage} key=${route[1]} id=${Number(route[1])} me=${me} />`;
  return html`<${UserList} me=${me} />`;
}

function UserList({ me }) {
  const [adding, setAdding] = useState(false);
  const { data: users, error } = useLive(() => rpc("user.list"), touchesUsers);
  const columns = [
    { key: "username", label: t("users.username"), render: (u) => html`<a href=${`#/users/${u.id}`}>${u.username}</a>` },
    { key: "email", label: t("users.email") },
    { key: "role", label: t("users.role"), value: (u) => t(`role.${u.role}`) },
    { key: "language", label: t("users.language"), value: (u) => languageName(u.language) },
    {
      key: "disabled", label: t("users.disabled"), value: (u) => (u.disabled ? t("users.yes") : t("users.no")),
      render: (u) => (u.disabled ? html`<span class="badge bad">${t("users.disabledBadge")}</span>` : t("users.no")),
    },
    { key: "created", label: t("users.created"), render: (u) => when(u.created) },
  ];
  return html`
    <h1>${t("users.title")}</h1>
    ${me.role === "admin" && html`<div class="toolbar">
      <button type="button" aria-expanded=${adding} onClick=${() => setAdding(!adding)}>${t("users.add")}</button>
    </div>`}
    ${adding && html`<${AddUserForm} onCancel=${() => setAdding(false)} />`}
    ${users ? html`<${Fault} error=${error} /><${Table} caption=${t("users.caption")} columns=${columns} rows=${users} />`
      : html`<${Loading} error=${error} />`}`;
}

function AddUserForm({ onCancel }) {
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const user = Object.fromEntries(["username", "password", "email", "role", "language"].map((key) => [key, form.get(key)]));
    user.username = user.username.trim();
    user.email = user.email.trim();
    action.run(async () => (location.hash = `#/users/${await rpc("user.create", user)}`));
  };
  return html`<h2 id="add-user-title">${t("users.add")}</h2>
  <form class="grid" aria-labelledby="add-user-title" onSubmit=${submit}>
    <${Field} id="new-username" label=${t("users.username")} name="username" required maxlength="64" pattern="[A-Za-z0-9._\\-]+"
      autocomplete="off" hint=${t("users.usernameHint")} />
    <${Field} id="new-password" label=${t("users.password")} name="password" type="password" required minlength="8"
      autocomplete="new-password" hint=${t("users.passwordHint")} />
    <${Field} id="new-email" label=${t("users.email")} name="email" type="email" autocomplete="off" />
    <${Field} id="new-role" label=${t("users.role")} name="role">${options(ROLES.map((r) => [r, t(`role.${r}`)]))}<//>
    <${Field} id="new-language" label=${t("users.language")} name="language"><${LanguageOptions} /><//>
    <${Submit} label=${t("users.addSubmit")} busy=${action.busy}>
      <button type="button" onClick=${onCancel}>${t("users.cancel")}</button>
      <${Fault} error=${action.error} />
    <//>
  </form>`;
}
