// The Nodes section: the list with each node's state, registering a node (its poller
// token and command line shown once) and removing it, and a node's page with its VMs and
// storage pools.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BASE, adminToken, assertNoProblems, finished, launch, login, newPage, rpc } from "./browser.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const unique = (prefix) => `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;

const nav = (page, name) => page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name, exact: true });

const nodeRow = (page, name) => page.getByRole("row").filter({ has: page.getByRole("link", { name, exact: true }) });

test("the demo node is listed as reachable, with its VMs", async () => {
  const page = await newPage(browser);
  await login(page);
  await nav(page, "Nodes").click();
  await page.getByRole("heading", { name: "Nodes" }).waitFor();
  const row = nodeRow(page, "demo");
  await row.waitFor();
  assert.equal((await row.locator("[data-column=state] .badge").textContent()).trim(), "reachable");
  assert.equal(Number(await row.locator("[data-column=vm_count]").textContent()), 4);
  assert.equal((await row.locator("[data-column=transport]").textContent()).trim(), "libvirt");

  // A node registered elsewhere shows at once, unreachable with the reason, and goes again.
  const admin = await adminToken();
  const name = unique("away");
  const { id } = await rpc("node.register", admin, { name, hostname: "nowhere", transport: "ssh", uri: "ssh://root@127.0.0.1:1" });
  try {
    const away = nodeRow(page, name);
    await away.locator("[data-column=state] .badge").filter({ hasText: /^unreachable$/ }).waitFor();
    assert.match(await away.locator("[data-column=state]").textContent(), /unreachable\s+\S+/);
  } finally {
    await rpc("node.remove", admin, id);
  }
  await nodeRow(page, name).waitFor({ state: "detached" });
  assertNoProblems(page);
});

test("registering a node shows its poller token once with the command line, then it can be removed", async () => {
  const page = await newPage(browser);
  await login(page);
  const name = unique("node");
  await page.goto(`${BASE}/#/nodes`);
  await page.getByRole("button", { name: "Register a node" }).click();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Host name").fill("localhost");
  await page.getByLabel("Transport").selectOption("libvirt");
  await page.getByText("Any libvirt URI").waitFor();
  await page.getByLabel("URI").fill("test:///default");
  await page.getByRole("button", { name: "Register", exact: true }).click();

  const token = (await page.getByLabel("Poller token", { exact: true }).textContent()).trim();
  assert.match(token, /^[0-9a-f]{32,}$/, "the token is shown");
  await page.getByText("it is not shown again").waitFor();
  const command = await page.getByLabel("Poller command line", { exact: true }).textContent();
  assert.ok(command.startsWith("zentific-poller "), command);
  assert.ok(command.includes(`--token ${token}`), command);
  assert.ok(command.includes(`--server ${BASE}/RPC2`), command);
  await page.getByRole("button", { name: "Copy the token" }).click();
  await page.getByRole("status").filter({ hasText: /^(Copied\.|Selected: copy it with your keyboard\.)$/ }).waitFor();
  await page.getByRole("button", { name: "Copy the command line" }).waitFor();

  // It is in the list at once; once dismissed, the token is nowhere on the page.
  const row = nodeRow(page, name);
  await row.waitFor();
  await page.getByRole("button", { name: "I have copied it" }).click();
  await page.getByRole("button", { name: "I have copied it" }).waitFor({ state: "detached" });
  assert.equal(await page.getByText(token).count(), 0);

  // Its page: removing is refused while its inventory holds VMs, and the refusal is shown.
  await row.getByRole("link", { name }).click();
  await page.getByRole("heading", { name }).waitFor();
  assert.equal(await page.getByText(token).count(), 0, "the token is not shown again");
  const admin = await adminToken();
  const id = (await rpc("node.list", admin)).find((n) => n.name === name).id;
  await waitFor(async () => (await rpc("node.get", admin, id)).synced !== undefined);
  const vms = await rpc("vm.list", admin, { node: id });
  page.on("dialog", (dialog) => dialog.accept());
  if (vms.length > 0) {
    await page.getByRole("button", { name: "Remove" }).click();
    await page.getByRole("alert").filter({ hasText: "still hosts" }).waitFor();
    // The test driver's VMs go (through the API), then the node can go.
    for (const vm of vms) {
      if (vm.state !== "stopped") await finished(admin, await rpc("vm.destroy", admin, vm.id));
      assert.equal((await finished(admin, await rpc("vm.delete", admin, vm.id))).state, "succeeded");
    }
  }
  await page.getByRole("button", { name: "Remove" }).click();
  await page.getByRole("heading", { name: "Nodes" }).waitFor();
  await nodeRow(page, "demo").waitFor();
  assert.equal(await nodeRow(page, name).count(), 0);
  assert.ok(!(await rpc("node.list", admin)).some((n) => n.name === name));
  assertNoProblems(page);
});

test("a node's page shows its facts, graphs, VMs and storage pools with their volumes", async () => {
  const admin = await adminToken();
  const demo = (await rpc("node.list", admin)).find((n) => n.name === "demo");
  const poolName = unique("pool");
  const pool = await rpc("storage.definePool", admin, { node: demo.id, name: poolName, kind: "dir", path: `/tmp/${poolName}`, capacity_kb: 1048576 });
  try {
    const page = await newPage(browser);
    await login(page);
    await nav(page, "Nodes").click();
    await nodeRow(page, "demo").getByRole("link", { name: "demo" }).click();
    await page.getByRole("heading", { name: /^demo/ }).waitFor();
    const vms = page.getByRole("table", { name: "The VMs on this node that you may see" });
    for (const vm of ["web", "db", "backup", "frozen"]) await vms.getByRole("link", { name: vm, exact: true }).waitFor();
    assert.equal(await vms.locator("tbody tr").count(), 4);
    assert.equal(await vms.getByRole("link", { name: "web", exact: true }).getAttribute("href"), `#/vms/${(await rpc("vm.list", admin)).find((v) => v.name === "web").id}`);

    const pools = page.getByRole("table", { name: "The storage pools of this node" });
    const poolRow = pools.getByRole("row").filter({ hasText: poolName });
    await poolRow.waitFor();
    assert.match(await poolRow.textContent(), /1 GiB/);
    await page.getByRole("table", { name: `The volumes of the pool ${poolName}` }).waitFor();

    // The time windows of the graphs are buttons that say which one is chosen.
    const week = page.getByRole("button", { name: "7 days" });
    await week.click();
    assert.equal(await week.getAttribute("aria-pressed"), "true");
    assert.equal(await page.getByRole("button", { name: "1 hour" }).getAttribute("aria-pressed"), "false");

    // Sync runs a job whose progress and outcome show without a reload.
    await page.getByRole("button", { name: "Sync" }).click();
    await page.getByRole("status").filter({ hasText: /Sync \(job \d+\): done/ }).waitFor();
    assertNoProblems(page);
  } finally {
    await rpc("storage.removePool", admin, pool);
  }
});

async function waitFor(check, tries = 100) {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("timed out");
}
