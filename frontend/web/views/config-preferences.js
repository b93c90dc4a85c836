// views/config-preferences.js: the Preferences tab, the user's own settings: language
// (applied at once) and email (user.update), and a new password (user.setPassword), which
// ends every session of the user: the page then says so and shows the login form.
import { html, useEffect, useState } from "../html.js";
import { LANGUAGES, setLanguage, t } from "../i18n.js";
import { RpcFault, call, rpc, session } from "../rpc.js";
import { Fault, Field, Loading, Section, Submit, about, options, useAction, useLive } from "../ui.js";

export default function Preferences({ me }) {
  const { data: user, error } = useLive(() => rpc("user.get", me.id), about("user", me.id));
  if (!user) return html`<${Loading} error=${error} />`;
  return html`<${Profile} user=${user} /><${PasswordForm} me=${me} />`;
}

/** Language and email: only what changed is sent. */
function Profile({ user }) {
  const [draft, setDraft] = useState({});
  const action = useAction();
  useEffect(() => setDraft({}), [user]);
  const value = (key) => draft[key] ?? user[key] ?? "";
  const edit = (key) => (event) => {
    setDraft({ ...draft, [key]: event.target.value });
    action.reset();
  };
  const submit = (event) => {
    event.preventDefault();
    const changes = Object.fromEntries(Object.entries(draft).filter(([key, v]) => v !== (user[key] ?? "")));
    action.run(async () => {
      if (Object.keys(changes).length === 0) return;
      await rpc("user.update", user.id, changes);
      if (changes.language) {
        // The shell renders again, in the new language, on a route change.
        await setLanguage(changes.language);
        dispatchEvent(new HashChangeEvent("hashchange"));
      }
    }, t("config.profileSaved"));
  };
  const languages = Object.entries(LANGUAGES);
  if (user.language && !(user.language in LANGUAGES)) languages.push([user.language, user.language]);
  return html`<${Section} id="prefs-profile" title=${t("config.profile")}>
    <form class="grid" onSubmit=${submit}>
      <${Field} id="prefs-language" label=${t("config.language")} value=${value("language")} onChange=${edit("language")}>${options(languages)}<//>
      <${Field} id="prefs-email" label=${t("config.email")} type="email" autocomplete="email" value=${value("email")} onInput=${edit("email")} />
      <${Submit} label=${t("config.saveProfile")} busy=${action.busy}>${action.done && html`<span role="status">${action.done}</span>`}<//>
    </form>
    <${Fault} error=${action.error} />
  <//>`;
}

/** The current password (checked by logging in with it), and the new one twice. */
function PasswordForm({ me }) {
  const action = useAction();
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const [current, next, again] = ["current", "next", "again"].map((name) => String(form.get(name)));
    if (next.length < 8) return action.fail(t("config.passwordShort"));
    if (next !== again) return action.fail(t("config.passwordMismatch"));
    const changed = await action.run(async () => {
      await checkPassword(me.username, current);
      await rpc("user.setPassword", me.id, next);
    });
    if (!changed) return;
    session.forget();
    dispatchEvent(new CustomEvent("zentific:logged-out", { detail: { message: t("config.passwordChanged") } }));
  };
  const password = (id, name, autocomplete) => ({ id, name, type: "password", autocomplete, required: true, ...(name !== "current" && { minlength: "8" }) });
  return html`<${Section} id="prefs-password" title=${t("config.password")}>
    <form class="grid" onSubmit=${submit}>
      <${Field} label=${t("config.currentPassword")} ...${password("prefs-current", "current", "current-password")} />
      <${Field} label=${t("config.newPassword")} ...${password("prefs-next", "next", "new-password")} />
      <${Field} label=${t("config.repeatPassword")} ...${password("prefs-again", "again", "new-password")} />
      <p class="hint">${t("config.passwordHint")}</p>
      <span></span>
      <div><button type="submit" class="primary" disabled=${action.busy}>${t("config.changePassword")}</button></div>
    </form>
    <${Fault} error=${action.error} />
  <//>`;
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
