// views/users.js: the Users section (User Administration). The list of users (just
// yourself for plain users), adding a user (admins), and for #/users/<id> one user's page
// (views/user.js). The list follows the event stream.
import { html, useState } from "../html.js";
import { t } from "../i18n.js";
import { session } from "../rpc.js";
import { Fault, Loading, Table, useLive, when } from "../ui.js";
import UserPage, { LanguageOptions, ROLES, languageName, touchesUsers } from "./user.js";

export default function Users({ route, me }) {
  if (route[1]) return html`<${UserPage} key=${route[1]} id=${Number(route[1])} me=${me} />`;
  return html`<${UserList} me=${me} />`;
}

function UserList({ me }) {
  const [adding, setAdding] = useState(false);
  const { data: users, error } = useLive(() => session.rpc("user.list"), touchesUsers);
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
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const user = {
      username: form.get("username").trim(),
      password: form.get("password"),
      email: form.get("email").trim(),
      role: form.get("role"),
      language: form.get("language"),
    };
    setBusy(true);
    setError(null);
    try {
      const id = await session.rpc("user.create", user);
      location.hash = `#/users/${id}`;
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<h2 id="add-user-title">${t("users.addTitle")}</h2>
  <form class="grid" aria-labelledby="add-user-title" onSubmit=${submit}>
    <label for="new-username">${t("users.username")}</label>
    <input id="new-username" name="username" required maxlength="64" pattern="[A-Za-z0-9._\\-]+" autocomplete="off" aria-describedby="new-username-hint" />
    <p class="hint" id="new-username-hint">${t("users.usernameHint")}</p>
    <label for="new-password">${t("users.password")}</label>
    <input id="new-password" name="password" type="password" required minlength="8" autocomplete="new-password" aria-describedby="new-password-hint" />
    <p class="hint" id="new-password-hint">${t("users.passwordHint")}</p>
    <label for="new-email">${t("users.email")}</label>
    <input id="new-email" name="email" type="email" autocomplete="off" />
    <label for="new-role">${t("users.role")}</label>
    <select id="new-role" name="role">${ROLES.map((r) => html`<option value=${r}>${t(`role.${r}`)}</option>`)}</select>
    <label for="new-language">${t("users.language")}</label>
    <select id="new-language" name="language"><${LanguageOptions} /></select>
    <span></span>
    <div class="toolbar">
      <button type="submit" class="primary" disabled=${busy}>${t("users.addSubmit")}</button>
      <button type="button" onClick=${onCancel}>${t("users.cancel")}</button>
      <${Fault} error=${error} />
    </div>
  </form>`;
}
