// The Virtual Machines list and Create New: power actions and their jobs, changes made
// elsewhere, search, state filter and sorting, actions on selected rows, and provisioning
// within the limits and quota (client-side rules and the server's fault 6).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BASE, adminToken, assertNoProblems, finished, launch, login, newPage, rpc, vmNamed } from "./browser.mjs";

let browser;
let token;
before(async () => {
  browser = await launch();
  token = await adminToken();
});
after(async () => browser?.close());

const row = (page, name) => page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });
const badge = (page, name) => row(page, name).locator(".badge");
const shownNames = (page) => page.locator("tbody td[data-column=name]").allTextContents();

async function openList(page, query = "") {
  await page.goto(`${BASE}/#/vms${query}`);
  await page.getByRole("heading", { name: "Virtual Machines" }).waitFor();
  await row(page, "web").or(page.getByText("No VMs to show.")).first().waitFor();
}

/** Wait until the VM's state badge reads `state`, within `timeout` ms. */
async function stateBecomes(page, name, state, timeout = 15000) {
  await badge(page, name).filter({ hasText: new RegExp(`^${state}$`) }).waitFor({ timeout });
}

/** Collect every text the rows' job progress shows from now on. */
const watchJobTexts = (page) =>
  page.evaluate(() => {
    window.jobTexts = [];
    new MutationObserver(() => {
      for (const el of document.querySelectorAll("[data-job]")) window.jobTexts.push(el.textContent);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });

/** Put a VM back in `state` through the API when a test left it elsewhere. */
async function restore(name, state) {
  const vm = (await rpc("vm.list", token)).find((v) => v.name === name);
  if (vm.state === state) return;
  const action = state === "running" ? (vm.state === "paused" ? "vm.unpause" : "vm.start") : "vm.pause";
  await finished(token, await rpc(action, token, vm.id));
}

test("pausing a VM from the list shows its job, then the new state; unpausing brings it back", async () => {
  const page = await newPage(browser);
  await login(page);
  await openList(page);
  await stateBecomes(page, "web", "running");
  await watchJobTexts(page);
  try {
    await page.getByRole("button", { name: "Pause web" }).click();
    await stateBecomes(page, "web", "paused");
    const seen = await page.evaluate(() => window.jobTexts);
    assert.ok(seen.some((text) => /pausing… \(job \d+, (pending|running)\)/.test(text)), `the job's progress was shown: ${seen}`);
    await page.getByRole("button", { name: "Unpause web" }).click();
    await stateBecomes(page, "web", "running");
    assert.ok((await page.evaluate(() => window.jobTexts)).some((text) => text.startsWith("unpausing…")));
    await page.getByRole("button", { name: "Pause web" }).waitFor();
  } finally {
    await restore("web", "running");
  }
  assertNoProblems(page);
});

test("a change made by another client shows in the open list without a reload", async () => {
  const page = await newPage(browser);
  await login(page);
  await openList(page);
  await stateBecomes(page, "db", "running");
  const db = await vmNamed(token, "db");
  try {
    await finished(token, await rpc("vm.pause", token, db));
    await stateBecomes(page, "db", "paused");
    await finished(token, await rpc("vm.unpause", token, db));
    await stateBecomes(page, "db", "running");
  } finally {
    await restore("db", "running");
  }
  assertNoProblems(page);
});

test("search and the state filter narrow the rows; sorting by memory orders them", async () => {
  const page = await newPage(browser);
  await login(page);
  const vms = await rpc("vm.list", token);
  const running = vms.filter((v) => ["running", "idle"].includes(v.state)).map((v) => v.name).sort();
  const paused = vms.filter((v) => v.state === "paused").map((v) => v.name).sort();
  // The dashboard's link: #/vms?state=running.
  await openList(page, "?state=running");
  assert.equal(await page.getByLabel("State").inputValue(), "running");
  assert.deepEqual((await shownNames(page)).sort(), running);
  await page.getByLabel("State").selectOption("paused");
  assert.deepEqual((await shownNames(page)).sort(), paused);
  assert.ok(page.url().endsWith("#/vms?state=paused"));
  await page.getByLabel("State").selectOption("all");
  await page.getByLabel("Search").fill("we");
  const matches = (v) => [v.name, v.type, v.os, v.state, v.node_name].some((text) => text.toLowerCase().includes("we"));
  assert.deepEqual(await shownNames(page), vms.filter(matches).map((v) => v.name));
  assert.ok((await shownNames(page)).includes("web") && !(await shownNames(page)).includes("db"));
  await page.getByLabel("Search").fill("");
  await page.getByRole("button", { name: "Memory", exact: true }).click();
  const byMemory = vms.slice().sort((a, b) => a.memory_kb - b.memory_kb).map((v) => v.memory_kb);
  const shownMemory = await page.locator("tbody tr").evaluateAll((rows, all) =>
    rows.map((r) => all.find((v) => v.name === r.querySelector("[data-column=name]").textContent).memory_kb), vms);
  assert.deepEqual(shownMemory, byMemory);
  assert.equal(await page.getByRole("columnheader", { name: /Memory/ }).getAttribute("aria-sort"), "ascending");
  assertNoProblems(page);
});

test("actions on selected rows: two running VMs paused at once, then unpaused", async () => {
  const page = await newPage(browser);
  await login(page);
  await openList(page);
  await stateBecomes(page, "web", "running");
  await stateBecomes(page, "db", "running");
  try {
    await page.getByLabel("Select web").check();
    await page.getByLabel("Select db").check();
    await page.getByLabel("Select backup").check();
    await page.getByRole("button", { name: "Pause selected", exact: true }).click();
    await page.getByRole("status").filter({ hasText: "Pause: sent to 2 VMs, 1 skipped" }).waitFor();
    await stateBecomes(page, "web", "paused");
    await stateBecomes(page, "db", "paused");
    await stateBecomes(page, "backup", "stopped");
    await page.getByRole("button", { name: "Unpause selected" }).click();
    await page.getByRole("status").filter({ hasText: "Unpause: sent to 2 VMs" }).waitFor();
    await stateBecomes(page, "web", "running");
    await stateBecomes(page, "db", "running");
  } finally {
    await restore("web", "running");
    await restore("db", "running");
  }
  assertNoProblems(page);
});

test("Create New keeps within the quota, shows the server's refusal, and lands on the new VM", async () => {
  const stamp = Date.now().toString(36);
  const username = `vmsquota-${stamp}`;
  const password = "quota-password-1";
  const user = await rpc("user.create", token, { username, password });
  await rpc("user.setQuota", token, user, { memory_kb: 128 * 1024 });
  // A pool of the demo node with one volume, for the new VM's disk.
  const demo = (await rpc("node.list", token)).find((n) => n.name === "demo").id;
  const pool = await rpc("storage.definePool", token, { node: demo, name: `vms-pool-${stamp}`, kind: "dir", path: `/tmp/vms-pool-${stamp}`, capacity_kb: 65536 });
  const volume = await rpc("storage.createVolume", token, pool, { name: "root.img", capacity_kb: 8192 });
  assert.equal((await finished(token, volume.job)).state, "succeeded");
  let created;
  const page = await newPage(browser);
  try {
    await login(page, username, password);
    await page.goto(`${BASE}/#/vms`);
    await page.getByRole("link", { name: "Create New" }).click();
    await page.getByRole("heading", { name: "Create New" }).waitFor();
    assert.equal(new URL(page.url()).hash, "#/vms/new");
    const create = page.getByRole("button", { name: "Create", exact: true });
    // The client's rule: more memory than the quota leaves.
    await page.getByLabel("Name", { exact: true }).fill(`vms-new-${stamp}`);
    await page.getByLabel("Memory (MiB)", { exact: true }).fill("256");
    await page.getByText("256 MiB is more than your quota leaves (128 MiB).").first().waitFor();
    assert.ok(await create.isDisabled());
    await page.getByText("Your quota: 128 MiB, of which your VMs use 0 KiB; 128 MiB left.").waitFor();
    // Within it on the page, but the quota shrinks through the API meanwhile: fault 6.
    await page.getByLabel("Memory (MiB)", { exact: true }).fill("64");
    assert.ok(await create.isEnabled());
    await rpc("user.setQuota", token, user, { memory_kb: 32 * 1024 });
    await create.click();
    await page.getByRole("alert").filter({ hasText: "quota allows 32768 KiB" }).waitFor();
    await page.getByText("64 MiB is more than your quota leaves (32 MiB).").first().waitFor();
    // A small VM for real on the demo node, with an interface and a disk, then its page.
    await page.getByLabel("Memory (MiB)", { exact: true }).fill("16");
    assert.equal(await page.getByLabel("Node").locator("option:checked").textContent(), "demo");
    await page.getByRole("button", { name: "Add an interface" }).click();
    await page.getByLabel("Bridge of interface 1").fill("");
    await page.getByText("Interface 1 needs a bridge.", { exact: true }).waitFor();
    assert.ok(await create.isDisabled());
    await page.getByLabel("Bridge of interface 1").fill("virbr0");
    await page.getByRole("button", { name: "Add a disk" }).click();
    assert.equal(await page.getByLabel("Target of disk 1").inputValue(), "xvda");
    await page.getByLabel("Pool of disk 1").selectOption({ label: `vms-pool-${stamp}` });
    await page.getByLabel("Volume of disk 1").selectOption("root.img");
    // The job's progress may show only briefly before the page moves on: record it.
    await page.evaluate(() => {
      window.statusTexts = [];
      new MutationObserver(() => {
        for (const el of document.querySelectorAll("[role=status]")) window.statusTexts.push(el.textContent);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await create.click();
    await page.waitForURL(/#\/vms\/\d+$/);
    const shown = await page.evaluate(() => window.statusTexts);
    assert.ok(shown.some((text) => new RegExp(`Creating vms-new-${stamp}: job \\d+`).test(text)), `the job's progress was shown: ${shown}`);
    created = Number(new URL(page.url()).hash.split("/")[2]);
    const vm = (await rpc("vm.list", token)).find((v) => v.id === created);
    assert.equal(vm.name, `vms-new-${stamp}`);
    assert.equal(vm.memory_kb, 16 * 1024);
    assert.equal(vm.owner, user);
    const details = await rpc("vm.get", token, created);
    assert.deepEqual(details.vifs.map((v) => v.bridge), ["virbr0"]);
    assert.deepEqual(details.disks.map((d) => [d.target, d.source]), [["xvda", `/tmp/vms-pool-${stamp}/root.img`]]);
  } finally {
    const vm = (await rpc("vm.list", token)).find((v) => v.name === `vms-new-${stamp}`);
    if (vm) await finished(token, await rpc("vm.delete", token, vm.id));
    await finished(token, await rpc("storage.deleteVolume", token, volume.id));
    await rpc("storage.removePool", token, pool);
    await rpc("user.delete", token, user);
  }
  assert.ok(!(await rpc("vm.list", token)).some((v) => v.id === created), "the VM is gone again");
  assertNoProblems(page);
});

test("an action the user may not take is refused in its row, with the server's words, until dismissed", async () => {
  const stamp = Date.now().toString(36);
  const username = `vmsview-${stamp}`;
  const password = "view-password-1";
  const user = await rpc("user.create", token, { username, password });
  const web = await vmNamed(token, "web");
  await rpc("user.grant", token, user, web, ["view"]);
  const page = await newPage(browser);
  try {
    await login(page, username, password);
    await openList(page);
    assert.deepEqual(await shownNames(page), ["web"]);
    await page.getByRole("button", { name: "Pause web" }).click();
    const refusal = row(page, "web").getByRole("alert");
    await refusal.filter({ hasText: /^Pause refused: .+/ }).waitFor();
    await page.getByRole("button", { name: "Dismiss the message about web" }).click();
    await refusal.waitFor({ state: "detached" });
    assert.equal((await rpc("vm.list", token)).find((v) => v.id === web).state, "running");
  } finally {
    await rpc("user.delete", token, user);
  }
  assertNoProblems(page);
});
