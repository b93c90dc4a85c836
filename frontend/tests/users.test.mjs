// The Users section: adding a user and granting them a VM, resetting a password,
// disabling a user, a quota shown on the user's own dashboard, and the last admin kept.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BASE, adminToken, assertNoProblems, launch, login, newPage, rpc } from "./browser.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const unique = (prefix) => `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
const nav = (page, name) => page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name, exact: true });
const PASSWORD = "first-password";

/** A user made through the API, as another client would. */
async function someone(prefix) {
  const username = unique(prefix);
  const id = await rpc("user.create", await adminToken(), { username, password: PASSWORD, email: `${username}@example.org` });
  return { id, username };
}

/** The admin's page of a user. */
async function openUser(page, user) {
  await page.goto(`${BASE}/#/users`);
  await page.getByRole("link", { name: user.username, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: user.username }).waitFor();
}

async function logout(page) {
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
}

test("an admin adds a user and grants them view and power on web; they see only web", async () => {
  const page = await newPage(browser);
  await login(page);
  const username = unique("grantee");
  await nav(page, "Users").click();
  await page.getByRole("button", { name: "Add a user" }).click();
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Email").fill(`${username}@example.org`);
  await page.getByLabel("Role").selectOption("user");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: username }).waitFor();

  await page.getByLabel("VM", { exact: true }).selectOption({ label: "web (demo)" });
  await page.getByLabel("view", { exact: true }).check();
  await page.getByLabel("power", { exact: true }).check();
  await page.getByRole("button", { name: "Grant", exact: true }).click();
  const grants = page.getByRole("table", { name: `What ${username} may do with VMs besides their own` });
  const row = grants.getByRole("row").filter({ has: page.getByRole("link", { name: "web", exact: true }) });
  await row.waitFor();
  assert.equal((await row.locator("[data-column=permissions]").textContent()).trim(), "view, power");
  // In the list at once.
  await nav(page, "Users").click();
  await page.getByRole("link", { name: username, exact: true }).waitFor();
  assertNoProblems(page);
  await logout(page);

  await login(page, username, PASSWORD);
  // The dashboard counts only what they may see: web, running.
  await page.getByRole("heading", { name: "Status" }).waitFor();
  const figure = (group) => page.locator(`[data-count=${group}] .figure`);
  assert.equal(Number(await figure("running").textContent()), 1);
  assert.equal(Number(await figure("paused").textContent()), 0);
  assert.equal(Number(await figure("stopped").textContent()), 0);
  await nav(page, "Virtual Machines").click();
  await page.getByRole("heading", { name: "Virtual Machines" }).waitFor();
  const list = page.getByRole("table").first();
  await list.getByRole("link", { name: "web", exact: true }).waitFor();
  assert.equal(await list.locator("tbody tr").count(), 1);
  for (const other of ["db", "backup", "frozen"]) assert.equal(await page.getByRole("link", { name: other, exact: true }).count(), 0);

  // Their own account: just themselves in the list, and they may change their email.
  await nav(page, "Users").click();
  const users = page.getByRole("table", { name: "The accounts of this Zentific" });
  await users.getByRole("link", { name: username, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: username }).waitFor();
  assert.equal(await users.count(), 0);
  await page.getByLabel("Email").fill(`${username}@example.net`);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  await page.getByRole("definition").filter({ hasText: `${username}@example.net` }).waitFor();
  assert.equal(await page.getByLabel("Privileges").count(), 0, "no role select for a plain user");
  await nav(page, "Users").click();
  await page.getByRole("link", { name: username, exact: true }).waitFor();
  assert.equal(await page.getByRole("table", { name: "The accounts of this Zentific" }).locator("tbody tr").count(), 1);
  assertNoProblems(page);
});

test("resetting a password shows a new one, once, that logs in", async () => {
  const user = await someone("reset");
  const page = await newPage(browser);
  await login(page);
  await openUser(page, user);
  page.on("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Reset password" }).click();
  const secret = page.getByLabel(`The new password of ${user.username}`);
  const password = (await secret.textContent()).trim();
  assert.equal(password.length, 16);
  assert.notEqual(password, PASSWORD);
  await page.getByText("It is not shown again").waitFor();
  assertNoProblems(page);

  const theirs = await newPage(browser);
  await login(theirs, user.username, password);
  await theirs.getByText(`${user.username} (user)`).waitFor();
  await assert.rejects(rpc("session.login", user.username, PASSWORD), (e) => e.code === 1);
  assertNoProblems(theirs);
});

test("a disabled user's login is refused, and enabling them again lets them in", async () => {
  const user = await someone("disabled");
  const page = await newPage(browser);
  await login(page);
  await openUser(page, user);
  // A change made elsewhere shows without a reload.
  await rpc("user.update", await adminToken(), user.id, { email: `${user.username}@example.com` });
  await page.getByRole("definition").filter({ hasText: `${user.username}@example.com` }).waitFor({ timeout: 10000 });
  await page.getByRole("button", { name: "Disable", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: user.username }).getByText("disabled").waitFor();
  await page.getByRole("button", { name: "Enable", exact: true }).waitFor();

  const theirs = await newPage(browser);
  await theirs.goto(`${BASE}/`);
  await theirs.getByLabel("User name").fill(user.username);
  await theirs.getByLabel("Password").fill(PASSWORD);
  await theirs.getByRole("button", { name: "Log in" }).click();
  await theirs.getByRole("alert").filter({ hasText: /disabled/ }).waitFor();
  assert.equal(await theirs.getByRole("button", { name: "Log out" }).count(), 0);

  // The list says so too; enabling lets them in again.
  await nav(page, "Users").click();
  const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: user.username, exact: true }) });
  assert.equal((await row.locator("[data-column=disabled]").textContent()).trim(), "disabled");
  await openUser(page, user);
  await page.getByRole("button", { name: "Enable", exact: true }).click();
  await page.getByRole("button", { name: "Disable", exact: true }).waitFor();
  await login(theirs, user.username, PASSWORD);
  assertNoProblems(page);
  assertNoProblems(theirs);
});

test("a quota set on the user's page shows on their dashboard", async () => {
  const user = await someone("quota");
  const page = await newPage(browser);
  await login(page);
  await openUser(page, user);
  await page.getByLabel("VMs", { exact: true }).fill("3");
  await page.getByLabel("Memory (MiB)").fill("2048");
  await page.getByLabel("vCPUs", { exact: true }).fill("4");
  await page.getByRole("button", { name: "Save quota" }).click();
  await page.locator("[data-quota=memory]").filter({ hasText: "2 GiB" }).waitFor();
  assert.deepEqual(await rpc("user.getQuota", await adminToken(), user.id), { vms: 3, memory_kb: 2097152, vcpus: 4 });
  // Emptying a field makes that member unlimited.
  await page.getByLabel("vCPUs", { exact: true }).fill("");
  await page.getByRole("button", { name: "Save quota" }).click();
  await page.locator("[data-quota=vcpus]").filter({ hasText: "unlimited" }).waitFor();
  // A bad value is refused before it is sent.
  await page.getByLabel("VMs", { exact: true }).fill("-1");
  await page.getByRole("button", { name: "Save quota" }).click();
  assert.equal(await page.getByLabel("VMs", { exact: true }).evaluate((input) => input.validity.valid), false);
  assert.equal((await rpc("user.getQuota", await adminToken(), user.id)).vms, 3);
  assertNoProblems(page);

  const theirs = await newPage(browser);
  await login(theirs, user.username, PASSWORD);
  const usage = theirs.getByRole("table", { name: "What your VMs use, against your quota" });
  await usage.waitFor();
  const limit = async (what) => (await usage.getByRole("row").filter({ hasText: what }).locator("[data-column=limit]").textContent()).trim();
  assert.equal(await limit("VMs"), "3");
  assert.equal(await limit("Memory"), "2 GiB");
  assert.equal(await limit("vCPUs"), "unlimited");
  assertNoProblems(theirs);
});

test("the last admin cannot be demoted: the server's refusal is shown", async () => {
  const admin = await adminToken();
  // Any other enabled admin is set aside for this test and restored after it.
  const others = (await rpc("user.list", admin)).filter((u) => u.role === "admin" && !u.disabled && u.username !== "admin");
  for (const other of others) await rpc("user.update", admin, other.id, { disabled: true });
  try {
    const me = (await rpc("user.list", admin)).find((u) => u.username === "admin");
    const page = await newPage(browser);
    await login(page);
    await openUser(page, { username: "admin" });
    await page.getByLabel("Privileges").selectOption("operator");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "last enabled admin" }).waitFor();
    assert.equal((await rpc("user.get", admin, me.id)).role, "admin");
    // Disabling oneself as the last admin is refused the same way.
    await page.getByRole("button", { name: "Disable", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "last enabled admin" }).nth(1).waitFor();
    assert.equal((await rpc("user.get", admin, me.id)).disabled, false);
    assertNoProblems(page);
  } finally {
    for (const other of others) await rpc("user.update", admin, other.id, { disabled: false });
  }
});
