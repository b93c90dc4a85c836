// app.js: the page's shell. A login form, then the navigation (Home | Virtual Machines |
// Nodes | Users | Configuration, and the pages of enabled modules from module.pages) over
// one view at a time, chosen by the URL's #fragment. Text is always set as text, never
// as HTML. The views themselves come one module per view in views/.
import { RpcFault, session } from "./rpc.js";

const app = document.getElementById("app");

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

const SECTIONS = [
  ["home", "Home"],
  ["vms", "Virtual Machines"],
  ["nodes", "Nodes"],
  ["users", "Users"],
  ["config", "Configuration"],
];

function showLogin(message = "") {
  const username = el("input", { id: "username", name: "username", autocomplete: "username", required: "" });
  const password = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: "" });
  const error = el("p", { class: "error", role: "alert" }, message);
  const form = el(
    "form",
    { class: "login", "aria-label": "Log in" },
    el("h1", {}, "Zentific"),
    el("label", { for: "username" }, "User name"), username,
    el("label", { for: "password" }, "Password"), password,
    el("button", { type: "submit" }, "Log in"),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await session.login(username.value, password.value);
      await showShell();
    } catch (e) {
      error.textContent = e instanceof RpcFault ? e.message : `cannot reach the server: ${e.message}`;
    }
  });
  app.replaceChildren(form);
  username.focus();
}

async function showShell() {
  const me = await session.rpc("session.whoami");
  const pages = await session.rpc("module.pages");
  const links = [
    ...SECTIONS.map(([path, label]) => el("a", { href: `#/${path}` }, label)),
    ...pages.map((p) => el("a", { href: `#/modules/${p.module}/${p.path}` }, p.label)),
  ];
  const logout = el("button", { type: "button" }, "Log out");
  logout.addEventListener("click", async () => {
    await session.logout();
    showLogin();
  });
  const view = el("section", { id: "view", "aria-live": "polite" });
  app.replaceChildren(
    el("header", {}, el("nav", { "aria-label": "Sections" }, ...links), el("span", { class: "who" }, me.username ?? ""), logout),
    view,
  );
  const route = async () => {
    const hash = location.hash.replace(/^#\//, "") || "home";
    const page = pages.find((p) => hash === `modules/${p.module}/${p.path}`);
    if (page) {
      const module = await import(page.script);
      await module.render(view, { rpc: (method, ...params) => session.rpc(method, ...params) });
      return;
    }
    const section = SECTIONS.find(([path]) => path === hash) ?? SECTIONS[0];
    view.replaceChildren(el("h1", {}, section[1]));
  };
  onhashchange = () => route().catch(showError);
  await route();
}

function showError(e) {
  const view = document.getElementById("view") ?? app;
  view.replaceChildren(el("p", { class: "error", role: "alert" }, e.message));
}

addEventListener("zentific:logged-out", () => showLogin("Your session ended: log in again."));

if (session.token) showShell().catch(() => showLogin());
else showLogin();
