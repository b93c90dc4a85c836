// views/config-preferences.js: the Preferences tab, the user's own settings: language
// (applied at once) and email through user.update, and a new password through
// user.setPassword. A new password ends every session of the user, so the page then
// says so and shows the login form.
import { html, useEffect, useState } from "../html.js";
import { LANGUAGES, setLanguage, t } from "../i18n.js";
import { RpcFault, call, session } from "../rpc.js";
import { Fault, Loading, useLive } from "../ui.js";

export default function Preferences({ me }) {
  const { data: user, error } = useLive(
    () => session.rpc("user.get", me.id),
    (e) => e.target_kind === "user" && e.target === String(me.id),
  );
  if (!user) return html`<${Loading} error=${error} />`;
  return html`<${Profile} user=${user} /><${PasswordForm} me=${me} />`;
}

/** A fault, or a message of the page's own (a string), as an alert. */
function Problem({ error, id }) {
  if (typeof error === "string") return html`<p class="error" role="alert" id=${id}>${error}</p>`;
  return error ? html`<div id=${id}><${Fault} error=${error} /></div>` : null;
}

/** Language and email: only what changed is sent. */
function Profile({ user }) {
  const [draft, setDraft] = useState({});
  const [outcome, setOutcome] = useState({ error: null, saved: false, busy: false });
  useEffect(() => setDraft({}), [user]);
  const value = (key) => draft[key] ?? user[key] ?? "";
  const edit = (key) => (event) => {
    setDraft({ ...draft, [key]: event.target.value });
    setOutcome({ error: null, saved: false, busy: false });
  };
  const submit = async (event) => {
    event.preventDefault();
    const changes = Object.fromEntries(Object.entries(draft).filter(([key, v]) => v !== (user[key] ?? "")));
    if (Object.keys(changes).length === 0) return setOutcome({ error: null, saved: true, busy: false });
    setOutcome({ error: null, saved: false, busy: true });
    try {
      await session.rpc("user.update", user.id, changes);
      if (changes.language) await applyLanguage(changes.language);
      setOutcome({ error: null, saved: true, busy: false });
    } catch (e) {
      setOutcome({ error: e, saved: false, busy: false });
    }
  };
  const languages = { ...LANGUAGES };
  if (user.language && !(user.language in languages)) languages[user.language] = user.language;
  return html`<section aria-labelledby="prefs-profile">
    <h2 id="prefs-profile">${t("config.profile")}</h2>
    <form class="grid" onSubmit=${submit}>
      <label for="prefs-language">${t("config.language")}</label>
      <select id="prefs-language" value=${value("language")} onChange=${edit("language")}>
        ${Object.entries(languages).map(([code, name]) => html`<option value=${code}>${name}</option>`)}
      </select>
      <label for="prefs-email">${t("config.email")}</label>
      <input id="prefs-email" type="email" autocomplete="email" value=${value("email")} onInput=${edit("email")} />
      <span></span>
      <div class="toolbar">
        <button type="submit" class="primary" disabled=${outcome.busy}>${t("config.saveProfile")}</button>
        ${outcome.saved && html`<span role="status">${t("config.profileSaved")}</span>`}
      </div>
    </form>
    <${Problem} error=${outcome.error} />
  </section>`;
}

/** Switch the page's language now: the shell re-renders on a route change. */
async function applyLanguage(code) {
  await setLanguage(code);
  dispatchEvent(new HashChangeEvent("hashchange"));
}

/** The current password (checked by logging in with it), and the new one twice. */
function PasswordForm({ me }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const [current, next, again] = ["current", "next", "again"].map((name) => String(form.get(name)));
    if (next.length < 8) return setError(t("config.passwordShort"));
    if (next !== again) return setError(t("config.passwordMismatch"));
    setError(null);
    setBusy(true);
    try {
      await checkPassword(me.username, current);
      await session.rpc("user.setPassword", me.id, next);
    } catch (e) {
      setError(e);
      setBusy(false);
      return;
    }
    session.forget();
    dispatchEvent(new CustomEvent("zentific:logged-out", { detail: { message: t("config.passwordChanged") } }));
  };
  return html`<section aria-labelledby="prefs-password">
    <h2 id="prefs-password">${t("config.password")}</h2>
    <form class="grid" onSubmit=${submit}>
      <label for="prefs-current">${t("config.currentPassword")}</label>
      <input id="prefs-current" name="current" type="password" autocomplete="current-password" required />
      <label for="prefs-next">${t("config.newPassword")}</label>
      <input id="prefs-next" name="next" type="password" autocomplete="new-password" minlength="8" required />
      <label for="prefs-again">${t("config.repeatPassword")}</label>
      <input id="prefs-again" name="again" type="password" autocomplete="new-password" minlength="8" required />
      <p class="hint">${t("config.passwordHint")}</p>
      <span></span>
      <div><button type="submit" class="primary" disabled=${busy}>${t("config.changePassword")}</button></div>
    </form>
    <${Problem} error=${error} />
  </section>`;
}

/** Throws the page's message when `password` is not the user's; the session it opens is closed. */
async function checkPassword(username, password) {
  let token;
  try {
    token = await call("session.login", username, password);
  } catch (e) {
    if (e instanceof RpcFault && e.code === 1) throw t("config.currentWrong");
    throw e;
  }
  await call("session.logout", token).catch(() => {});
}
