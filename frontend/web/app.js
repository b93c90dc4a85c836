// app.js: the page's shell: the login form, then the navigation (the sections, and the
// pages of enabled modules from module.pages) over one view at a time, chosen by the URL's
// #fragment. Each view is its own module in views/, loaded when first shown.
import { html, render, useEffect, useRef, useState } from "./html.js";
import { setLanguage, t } from "./i18n.js";
import { RpcFault, rpc, session } from "./rpc.js";
import { Fault, Lazy, faultText, routeParts, useLive } from "./ui.js";

/** The sections of the navigation: route → [catalogue key, its view module]. */
const SECTIONS = {
  home: ["nav.home", () => import("./views/home.js")],
  vms: ["nav.vms", () => import("./views/vms.js")],
  nodes: ["nav.nodes", () => import("./views/nodes.js")],
  users: ["nav.users", () => import("./views/users.js")],
  config: ["nav.config", () => import("./views/config.js")],
};

function Login({ message }) {
  const [error, setError] = useState(message ?? "");
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    setBusy(true);
    try {
      await session.login(form.get("username"), form.get("password"));
      start();
    } catch (e) {
      setError(faultText(e));
      setBusy(false);
    }
  };
  return html`<form class="login" aria-label=${t("login.title")} onSubmit=${submit}>
    <h1>Zentific</h1>
    <label for="username">${t("login.username")}</label>
    <input id="username" name="username" autocomplete="username" required autofocus />
    <label for="password">${t("login.password")}</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required />
    <button type="submit" disabled=${busy}>${t("login.submit")}</button>
    <p class="error" role="alert">${error}</p>
  </form>`;
}

function Shell({ me }) {
  const [route, setRoute] = useState(routeParts());
  const { data: pages = [] } = useLive(() => rpc("module.pages"), (e) => e.target_kind === "module");
  useEffect(() => {
    const onHash = () => setRoute(routeParts());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const section = route[0] ?? "home";
  const logout = async () => {
    await session.logout();
    location.hash = "";
    showLogin();
  };
  return html`
    <a class="skip" href="#view">${t("nav.skip")}</a>
    <header>
      <nav aria-label=${t("nav.label")}>
        ${Object.entries(SECTIONS).map(([path, [label]]) =>
          html`<a href=${`#/${path}`} aria-current=${section === path ? "page" : undefined}>${t(label)}</a>`)}
        ${pages.map((p) => {
          const href = `#/modules/${p.module}/${p.path}`;
          return html`<a href=${href} aria-current=${location.hash === href ? "page" : undefined}>${p.label}</a>`;
        })}
      </nav>
      <span class="who">${me.username} (${t(`role.${me.role}`)})</span>
      <button type="button" onClick=${logout}>${t("nav.logout")}</button>
    </header>
    <section id="view" tabindex="-1">
      ${section === "modules"
        ? html`<${ModulePage} pages=${pages} route=${route} />`
        : html`<${Lazy} key=${section} load=${(SECTIONS[section] ?? SECTIONS.home)[1]} props=${{ route, me }} />`}
    </section>`;
}

/** An enabled module's page: its ES module renders into a box of its own. */
function ModulePage({ pages, route }) {
  const [error, setError] = useState(null);
  const page = pages.find((p) => p.module === route[1] && p.path === route.slice(2).join("/"));
  const box = useRef(null);
  useEffect(() => {
    if (!page || !box.current) return;
    setError(null);
    import(page.script)
      .then((m) => m.render(box.current, { rpc }))
      .catch(setError);
  }, [page?.script]);
  if (!page) return html`<p role="status">${t("module.pageGone")} <a href="#/home">${t("nav.home")}</a></p>`;
  return html`<h1>${page.label}</h1><${Fault} error=${error} /><div class="module-page" ref=${box}></div>`;
}

const root = document.getElementById("app");
root.replaceChildren(); // the "Loading…" of index.html

function showLogin(message) {
  render(html`<${Login} key=${Math.random()} message=${message} />`, root);
}

async function start() {
  try {
    const me = await session.rpc("session.whoami");
    await setLanguage(me.language);
    if (!location.hash) location.hash = "#/home";
    render(html`<${Shell} me=${me} />`, root);
  } catch (e) {
    if (!(e instanceof RpcFault && e.code === 1)) showLogin(t("error.unreachable", { reason: e.message }));
  }
}

addEventListener("zentific:logged-out", (e) => showLogin(e.detail?.message ?? t("login.ended")));

if (session.token) start();
else showLogin();
