// screenshots.mjs: a picture of every page at 1280×800 (and a few in the dark theme and
// at a phone's width) into docs/screenshots/, for the README. Run by
// scripts/screenshots.sh against a fresh demo server.
import { mkdir } from "node:fs/promises";
import { adminToken, launch, login, newPage, rpc, vmNamed } from "./browser.mjs";

const out = new URL("../../docs/screenshots/", import.meta.url).pathname;
await mkdir(out, { recursive: true });
const token = await adminToken();
const web = await vmNamed(token, "web");
const node = (await rpc("node.list", token))[0].id;
const admin = (await rpc("user.list", token)).find((u) => u.username === "admin").id;
await rpc("vm.setNotes", token, web, "Front-end web server.\nOwner: the web team (ext. 4321).\n<img src=x onerror=alert(1)> stays text.");
await rpc("module.enable", token, "dom0health").catch(() => {});

const pages = [
  ["home", "#/home"],
  ["vms", "#/vms"],
  ["vm-create", "#/vms/new"],
  ["vm-status", `#/vms/${web}/status`],
  ["vm-configuration", `#/vms/${web}/config`],
  ["vm-maintenance", `#/vms/${web}/maintenance`],
  ["vm-console", `#/vms/${web}/console`],
  ["vm-log", `#/vms/${web}/log`],
  ["vm-users", `#/vms/${web}/users`],
  ["vm-notes", `#/vms/${web}/notes`],
  ["nodes", "#/nodes"],
  ["node", `#/nodes/${node}`],
  ["users", "#/users"],
  ["user", `#/users/${admin}`],
  ["config-preferences", "#/config/preferences"],
  ["config-options", "#/config/options"],
  ["config-modules", "#/config/modules"],
  ["module-dom0health", "#/modules/dom0health/"],
];

const browser = await launch();
const shoot = async (page, name) => {
  // The event stream keeps a call open: wait for the view's own "Loading…" to go instead.
  await page.waitForFunction(() => ![...document.querySelectorAll("p")].some((p) => p.textContent === "Loading…"));
  if (name === "vm-console") {
    // Connected, then the first picture of the screen drawn.
    await page.frameLocator("iframe.console-frame").getByText("Connected.").waitFor({ timeout: 20000 });
    await page.waitForTimeout(2000);
  }
  await page.waitForTimeout(700); // graphs draw after their data arrives
  await page.screenshot({ path: `${out}${name}.png` });
  console.log(`docs/screenshots/${name}.png`);
};

const login_page = await newPage(browser);
await login_page.goto(process.env.ZENTIFIC_URL + "/");
await shoot(login_page, "login");

const page = await newPage(browser);
await login(page);
const problems = login_page.problems;
const tabs = await rpc("module.pages", token);
for (const [name, hash] of pages) {
  const target = name === "module-dom0health" && tabs[0] ? `#/modules/${tabs[0].module}/${tabs[0].path}` : hash;
  await page.evaluate((h) => (location.hash = h), target);
  await shoot(page, name);
}
problems.push(...page.problems);
await page.context().close();
for (const [name, hash, options] of [
  ["home-dark", "#/home", { colorScheme: "dark" }],
  ["vm-status-dark", `#/vms/${web}/status`, { colorScheme: "dark" }],
  ["vms-phone", "#/vms", { width: 390, height: 844 }],
  ["home-phone-dark", "#/home", { width: 390, height: 844, colorScheme: "dark" }],
]) {
  const other = await newPage(browser, options);
  await login(other);
  await other.evaluate((h) => (location.hash = h), hash);
  await shoot(other, name);
  problems.push(...other.problems);
  await other.context().close();
}
await browser.close();
await rpc("module.disable", token, "dom0health").catch(() => {});
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
