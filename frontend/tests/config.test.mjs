// The Configuration section: module management (switching dom0health on and off and its
// page in the navigation, Base locked, a refused file, a module's configuration form),
// the global options (a refused value changes nothing, a good one is saved, changes from
// elsewhere show), the user's own preferences and password, and what non-admins see.
import assert from "node:assert/strict";
import { chmod, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { adminToken, assertNoProblems, launch, login, newPage, rpc } from "./browser.mjs";

let browser;
let token;
before(async () => {
  browser = await launch();
  token = await adminToken();
});
after(async () => browser?.close());

/** Open a tab of the Configuration section through the navigation. */
async function openTab(page, tab) {
  await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Configuration" }).click();
  await page.getByRole("heading", { name: "Configuration" }).waitFor();
  await page.getByRole("navigation", { name: "Configuration pages" }).getByRole("link", { name: tab }).click();
}

async function openModules(page) {
  await openTab(page, "Module Management");
  await page.getByRole("table", { name: "Modules" }).waitFor();
}

/** The table row of the record named `name` (its first cell). */
const rowOf = (page, name) =>
  page.getByRole("row").filter({ has: page.getByRole("cell", { name, exact: true }) });

/** Wait until `check()` is true (the page follows the event stream; how fast is measured
 * in bench/web.sh, not here). */
async function eventually(check, what) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within 10 s: ${what}`);
}

/** A user of their own for one test. */
async function makeUser(prefix, role = "user", password = "first-password") {
  const username = `${prefix}${Date.now().toString(36)}`;
  const id = await rpc("user.create", token, { username, password, role });
  return { id, username, password };
}

test("enabling dom0health adds its page to the navigation, disabling it takes the page away", async () => {
  const page = await newPage(browser);
  const other = await newPage(browser);
  try {
    await login(page);
    await openModules(page);
    await login(other);
    await openModules(other);
    const nav = page.getByRole("navigation", { name: "Sections" });
    const box = page.getByRole("checkbox", { name: "Enabled: dom0health" });
    if ((await rpc("module.get", token, "dom0health")).enabled) await rpc("module.disable", token, "dom0health");
    await page.getByRole("checkbox", { name: "Enabled: dom0health", checked: false }).waitFor();
    assert.equal(await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Dom0 health" }).count(), 0);
    await box.check();
    const pages = await rpc("module.pages", token);
    const health = pages.find((p) => p.module === "dom0health");
    assert.ok(health, "module.pages lists dom0health's page once it is enabled");
    const link = nav.getByRole("link", { name: health.label });
    await link.waitFor();
    assert.equal((await rpc("module.get", token, "dom0health")).enabled, true);
    // The other page's table and navigation followed without a reload.
    await other.getByRole("checkbox", { name: "Enabled: dom0health", checked: true }).waitFor();
    await other.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: health.label }).waitFor();
    await link.click();
    await page.getByRole("heading", { name: health.label }).waitFor();
    await page.locator(".module-page").getByRole("table").waitFor();
    // Switched off from the other page: the link goes and the open page says so.
    await other.getByRole("checkbox", { name: "Enabled: dom0health" }).uncheck();
    await link.waitFor({ state: "detached" });
    await page.getByRole("status").filter({ hasText: "not available" }).waitFor();
    assert.equal((await rpc("module.get", token, "dom0health")).enabled, false);
    assertNoProblems(page);
    assertNoProblems(other);
  } finally {
    await rpc("module.disable", token, "dom0health").catch(() => {});
  }
});

test("Base is shown switched on, and its checkbox cannot be changed", async () => {
  const page = await newPage(browser);
  await login(page);
  await openModules(page);
  const base = page.getByRole("checkbox", { name: "Enabled: Base" });
  assert.equal(await base.isChecked(), true);
  assert.equal(await base.isDisabled(), true);
  await assert.rejects(rpc("module.disable", token, "Base"), (e) => e.code === 5);
  // The table shows each module's layers and what it provides.
  const dom0health = rowOf(page, "dom0health");
  await dom0health.getByText("Frontend, XMLRPC, Poller").waitFor();
  await dom0health.getByText("collectors: dom0health").waitFor();
  assertNoProblems(page);
});

test("a file in the modules directory that is no module shows as refused, with its reason", async (t) => {
  const dom0health = (await rpc("module.list", token)).find((m) => m.name === "dom0health");
  const file = join(dirname(dom0health.file), "libzentific_module_cfgbroken.so");
  try {
    await writeFile(file, "this is not a shared library\n", { mode: 0o644 });
    await chmod(file, 0o644);
  } catch (e) {
    t.skip(`the modules directory is not writable here: ${e.message}`);
    return;
  }
  try {
    const page = await newPage(browser);
    await login(page);
    await openModules(page);
    assert.equal(await rowOf(page, "cfgbroken").count(), 0);
    await page.getByRole("button", { name: "Rescan modules directory" }).click();
    await page.getByRole("status").filter({ hasText: "No new modules" }).waitFor();
    const row = rowOf(page, "cfgbroken");
    await row.getByText(/^Refused: .+/).waitFor();
    const listed = (await rpc("module.list", token)).find((m) => m.name === "cfgbroken");
    assert.ok(listed?.error, "module.list gives the reason");
    assert.ok((await row.textContent()).includes(listed.error), "the row shows the server's reason");
    assert.equal(await row.getByRole("checkbox").count(), 0, "a refused module has no Enabled checkbox");
    assertNoProblems(page);
  } finally {
    await unlink(file).catch(() => {});
    await rpc("module.rescan", token).catch(() => {});
  }
});

test("global options: a refused value changes nothing, a good one is saved, others' changes show", async () => {
  const stored = await rpc("config.get", token);
  const page = await newPage(browser);
  try {
    await login(page);
    await openTab(page, "Global Options");
    const vcpus = page.getByRole("spinbutton", { name: "vm_max_vcpus" });
    const retention = page.getByRole("spinbutton", { name: "stat_retention_days" });
    assert.equal(await vcpus.inputValue(), String(stored.vm_max_vcpus));
    await rowOf(page, "vm_max_vcpus").getByText("the most vCPUs one VM may have").waitFor();
    // Two changes, one bad: the server refuses both and names the option.
    await retention.fill(String(stored.stat_retention_days + 2));
    await vcpus.fill("0");
    await page.getByRole("button", { name: "Save options" }).click();
    await page.getByRole("alert").filter({ hasText: "vm_max_vcpus" }).waitFor();
    assert.equal(await vcpus.getAttribute("aria-invalid"), "true");
    const unchanged = await rpc("config.get", token);
    assert.equal(unchanged.vm_max_vcpus, stored.vm_max_vcpus);
    assert.equal(unchanged.stat_retention_days, stored.stat_retention_days);
    // A good value is saved; the untouched retention goes back first.
    await page.getByRole("button", { name: "Undo changes" }).click();
    assert.equal(await retention.inputValue(), String(stored.stat_retention_days));
    await vcpus.fill(String(stored.vm_max_vcpus + 4));
    await vcpus.press("Enter");
    await page.getByRole("status").filter({ hasText: "Options saved." }).waitFor();
    const saved = await rpc("config.get", token);
    assert.equal(saved.vm_max_vcpus, stored.vm_max_vcpus + 4);
    assert.equal(saved.stat_retention_days, stored.stat_retention_days);
    // Another client changes an option: the page shows it without a reload.
    await rpc("config.set", token, { vm_max_vcpus: stored.vm_max_vcpus + 5 });
    await eventually(async () => (await vcpus.inputValue()) === String(stored.vm_max_vcpus + 5), "the new value shows");
    assertNoProblems(page);
  } finally {
    await rpc("config.set", token, { vm_max_vcpus: stored.vm_max_vcpus, stat_retention_days: stored.stat_retention_days });
  }
});

test("dom0health's configuration form saves its paths", async () => {
  const stored = (await rpc("module.get", token, "dom0health")).config ?? {};
  const page = await newPage(browser);
  try {
    await login(page);
    await openModules(page);
    await page.getByRole("heading", { name: "Module configuration" }).waitFor();
    const paths = page.getByRole("textbox", { name: "paths" });
    await paths.fill("/,/tmp");
    await page.getByRole("button", { name: "Save dom0health configuration" }).click();
    await page.getByRole("status").filter({ hasText: "Configuration saved." }).waitFor();
    assert.equal((await rpc("module.get", token, "dom0health")).config.paths, "/,/tmp");
    // A value set elsewhere shows in the form.
    await rpc("module.configure", token, "dom0health", { paths: "/" });
    await eventually(async () => (await paths.inputValue()) === "/", "the configuration set elsewhere shows");
    assertNoProblems(page);
  } finally {
    await rpc("module.configure", token, "dom0health", stored);
  }
});

test("preferences: the language is English, and the user's own email is saved", async () => {
  const me = await rpc("session.whoami", token);
  const page = await newPage(browser);
  try {
    await login(page);
    await openTab(page, "Preferences");
    const language = page.getByRole("combobox", { name: "Language" });
    assert.equal(await language.inputValue(), "en");
    assert.equal((await language.locator("option:checked").textContent()).trim(), "English");
    const address = `admin-${Date.now().toString(36)}@example.org`;
    await page.getByRole("textbox", { name: "Email" }).fill(address);
    await page.getByRole("button", { name: "Save preferences" }).click();
    await page.getByRole("status").filter({ hasText: "Preferences saved." }).waitFor();
    assert.equal((await rpc("user.get", token, me.id)).email, address);
    await language.selectOption("en");
    assertNoProblems(page);
  } finally {
    await rpc("user.update", token, me.id, { email: me.email });
  }
});

test("changing one's password asks for the current one, then returns to the login form", async () => {
  const user = await makeUser("cfgpw");
  const page = await newPage(browser);
  try {
    await login(page, user.username, user.password);
    await openTab(page, "Preferences");
    const next = "second-password";
    await page.getByLabel("Current password").fill("not-the-password");
    await page.getByLabel("New password", { exact: true }).fill(next);
    await page.getByLabel("Repeat the new password").fill(next);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("alert").filter({ hasText: "The current password is wrong." }).waitFor();
    await page.getByLabel("Repeat the new password").fill("something-else");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("alert").filter({ hasText: "The two new passwords differ." }).waitFor();
    await page.getByLabel("Current password").fill(user.password);
    await page.getByLabel("Repeat the new password").fill(next);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    await page.getByRole("alert").filter({ hasText: /log in again/i }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("zentific.token")), null);
    await assert.rejects(rpc("session.login", user.username, user.password), (e) => e.code === 1);
    await login(page, user.username, next);
    assertNoProblems(page);
  } finally {
    await rpc("user.delete", token, user.id);
  }
});

test("non-admins read the options and modules but change nothing, also on a phone", async () => {
  const user = await makeUser("cfgro", "operator");
  const page = await newPage(browser, { width: 390, height: 800 });
  try {
    await login(page, user.username, user.password);
    await openTab(page, "Global Options");
    await rowOf(page, "vm_max_vcpus").waitFor();
    assert.equal(await page.getByRole("spinbutton").count(), 0, "no inputs for non-admins");
    assert.equal(await page.getByRole("button", { name: "Save options" }).count(), 0);
    await openModules(page);
    assert.equal(await page.getByRole("checkbox", { name: "Enabled: dom0health" }).isDisabled(), true);
    assert.equal(await page.getByRole("button", { name: "Rescan modules directory" }).count(), 0);
    assert.equal(await page.getByRole("heading", { name: "Module configuration" }).count(), 0);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    assert.ok(overflow <= 0, `the page fits 390 px (${overflow} px too wide)`);
    assertNoProblems(page);
  } finally {
    await rpc("user.delete", token, user.id);
  }
});
