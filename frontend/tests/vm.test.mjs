// The VM page: its tabs, the sizes form against the limits, notes as text, snapshots and
// schedules, grants, and the state badge following changes made elsewhere.
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

const unique = (prefix) => `${prefix}-${Date.now().toString(36)}`;

/** A logged-in page on the VM's tab. */
async function openVm(name, tab, size) {
  const page = await newPage(browser, size);
  await login(page);
  const id = await vmNamed(token, name);
  await page.goto(`${BASE}/#/vms/${id}/${tab}`);
  await page.getByRole("heading", { level: 1, name: new RegExp(`^${name}`) }).waitFor();
  return { page, id };
}

const tabs = (page) => page.getByRole("navigation", { name: "VM sections" });
const badge = (page) => page.getByRole("heading", { level: 1 }).locator(".badge");

test("a memory ceiling over the global limit is refused by the server and nothing changes", async () => {
  const { page, id } = await openVm("backup", "config");
  const vm = await rpc("vm.get", token, id);
  const { vm_max_memory_kb: original } = await rpc("config.get", token);
  await page.getByRole("spinbutton", { name: "Maximum memory (MiB)" }).waitFor();
  try {
    // The limit drops to the VM's ceiling after the form loaded: any larger ceiling is over it.
    await rpc("config.set", token, { vm_max_memory_kb: vm.max_memory_kb });
    await page.getByText(`At most ${vm.max_memory_kb / 1024} MiB per VM.`).waitFor();
    await page.getByRole("spinbutton", { name: "Maximum memory (MiB)" }).fill(String(vm.max_memory_kb / 1024 + 256));
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByRole("alert").filter({ hasText: /over the per-VM limit/ }).waitFor();
    const now = await rpc("vm.get", token, id);
    assert.deepEqual([now.memory_kb, now.max_memory_kb, now.vcpus], [vm.memory_kb, vm.max_memory_kb, vm.vcpus]);
    assert.equal(now.pending.length, 0);
  } finally {
    await rpc("config.set", token, { vm_max_memory_kb: original });
  }
  assertNoProblems(page);
});

test("changing the vCPUs of a stopped VM runs a job to its end and shows the new value", async () => {
  const { page, id } = await openVm("backup", "config");
  const vm = await rpc("vm.get", token, id);
  const wanted = vm.vcpus === 1 ? 2 : vm.vcpus - 1;
  try {
    await page.getByRole("spinbutton", { name: "vCPUs" }).fill(String(wanted));
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByRole("status").filter({ hasText: /\(Resize\): succeeded/ }).waitFor();
    await page.locator("[data-fact=vcpus]").filter({ hasText: new RegExp(`^${wanted}$`) }).waitFor();
    assert.equal(await page.getByRole("spinbutton", { name: "vCPUs" }).inputValue(), String(wanted));
    assert.equal((await rpc("vm.get", token, id)).vcpus, wanted);
  } finally {
    const job = await rpc("vm.update", token, id, { vcpus: vm.vcpus });
    assert.equal((await finished(token, job)).state, "succeeded");
  }
  assertNoProblems(page);
});

test("notes holding markup are saved and shown as text", async () => {
  const { page, id } = await openVm("backup", "notes");
  const original = await rpc("vm.notes", token, id);
  const markup = "<img src=x onerror=alert(1)>";
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  try {
    await page.getByLabel("Notes text").fill(markup);
    await page.getByText(`${new TextEncoder().encode(markup).length} of 65536 bytes`).waitFor();
    await page.getByRole("button", { name: "Save notes" }).click();
    await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const shown = page.locator("[data-notes] pre");
    await shown.filter({ hasText: markup }).waitFor();
    assert.equal(await shown.textContent(), markup);
    assert.equal(await page.locator(".vm-notes img").count(), 0);
    assert.equal(await rpc("vm.notes", token, id), markup);
    await page.waitForTimeout(300);
    assert.deepEqual(dialogs, []);
  } finally {
    await rpc("vm.setNotes", token, id, original);
  }
  assertNoProblems(page);
});

test("maintenance: a snapshot is taken, listed and deleted; a schedule and a trigger are made and deleted", async () => {
  const { page, id } = await openVm("backup", "maintenance");
  const snapshots = page.getByRole("table", { name: "The VM's snapshots, oldest first" });
  const snapshot = unique("snap");
  await page.getByLabel("Snapshot name").fill(snapshot);
  await page.getByRole("button", { name: "Take snapshot" }).click();
  await snapshots.getByRole("cell", { name: snapshot, exact: true }).waitFor();
  assert.ok((await rpc("vm.snapshots", token, id)).some((s) => s.name === snapshot));
  await page.getByRole("button", { name: `Delete snapshot ${snapshot}` }).click();
  await snapshots.getByRole("cell", { name: snapshot, exact: true }).waitFor({ state: "detached" });
  assert.ok(!(await rpc("vm.snapshots", token, id)).some((s) => s.name === snapshot));

  const schedules = page.getByRole("table", { name: "Actions run on this VM on a calendar" });
  const schedule = unique("nightly");
  const form = page.getByRole("form", { name: "Create schedule" });
  await form.getByLabel("Name").fill(schedule);
  await form.getByLabel("Action").selectOption({ label: "Start" });
  await form.getByLabel("When (cron)").fill("0 3 1 1 *");
  await form.getByRole("button", { name: "Create schedule" }).click();
  await schedules.getByRole("cell", { name: schedule, exact: true }).waitFor();
  assert.ok((await rpc("schedule.list", token)).some((s) => s.name === schedule && s.vm === id && s.action === "start"));
  await page.getByRole("button", { name: `Delete schedule ${schedule}` }).click();
  await schedules.getByRole("cell", { name: schedule, exact: true }).waitFor({ state: "detached" });
  assert.ok(!(await rpc("schedule.list", token)).some((s) => s.name === schedule));

  const triggers = page.getByRole("table", { name: "Actions run when this VM's state changes" });
  const trigger = unique("restart");
  const triggerForm = page.getByRole("form", { name: "Create trigger" });
  await triggerForm.getByLabel("Name").fill(trigger);
  await triggerForm.getByLabel("When the VM").selectOption({ label: "becomes crashed" });
  await triggerForm.getByLabel("Action").selectOption({ label: "Start" });
  await triggerForm.getByRole("button", { name: "Create trigger" }).click();
  await triggers.getByRole("cell", { name: trigger, exact: true }).waitFor();
  assert.ok((await rpc("trigger.list", token)).some((tr) => tr.name === trigger && tr.vm === id && tr.state === "crashed"));
  await page.getByRole("button", { name: `Delete trigger ${trigger}` }).click();
  await triggers.getByRole("cell", { name: trigger, exact: true }).waitFor({ state: "detached" });
  assertNoProblems(page);
});

test("every tab renders, at 1280 px and at 390 px wide", async () => {
  const expected = {
    Status: () => page.getByLabel("Window"),
    Configuration: () => page.getByRole("heading", { name: "Memory and vCPUs" }),
    Maintenance: () => page.getByRole("heading", { name: "Snapshots" }),
    // The demo VMs have real consoles (Xvfb and x11vnc, installed by scripts/deps.sh).
    Console: () => page.frameLocator("iframe.console-frame").getByText("Connected."),
    Log: () => page.getByRole("table", { name: "The VM's jobs, newest first" }),
    Users: () => page.getByRole("heading", { name: "Grant permissions" }),
    Notes: () => page.getByRole("heading", { name: "Edit the notes" }),
  };
  let page;
  for (const width of [1280, 390]) {
    ({ page } = await openVm("web", "status", { width, height: 800 }));
    for (const [tab, shown] of Object.entries(expected)) {
      await tabs(page).getByRole("link", { name: tab }).click();
      await shown().waitFor();
      assert.equal(await tabs(page).locator("[aria-current=page]").textContent(), tab);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
      assert.ok(overflow <= 0, `the ${tab} tab is ${overflow} px too wide at ${width} px`);
    }
    await tabs(page).getByRole("link", { name: "Status" }).click();
    await page.locator("[data-graph=cpu]").waitFor();
    assertNoProblems(page);
    await page.context().close();
  }
});

test("a pause from another client shows at once, and the page's own Unpause follows its job", async () => {
  const { page, id } = await openVm("web", "status");
  assert.equal(await badge(page).textContent(), "running");
  try {
    const job = await rpc("vm.pause", token, id);
    assert.equal((await finished(token, job)).state, "succeeded");
    await badge(page).filter({ hasText: "paused" }).waitFor({ timeout: 10000 });
    await page.getByRole("button", { name: "Unpause" }).click();
    await page.getByRole("status").filter({ hasText: /\(Unpause\): succeeded/ }).waitFor();
    await badge(page).filter({ hasText: "running" }).waitFor({ timeout: 10000 });
    await page.getByRole("button", { name: "Pause" }).waitFor();
  } finally {
    const vm = await rpc("vm.get", token, id);
    if (vm.state === "paused") await finished(token, await rpc("vm.unpause", token, id));
  }
  assertNoProblems(page);
});

test("a user is granted permissions on the VM and revoked", async () => {
  const username = unique("vmguest");
  const user = await rpc("user.create", token, { username, password: "a-long-password" });
  try {
    const { page } = await openVm("db", "users");
    const grants = page.getByRole("table", { name: "Users granted permissions on this VM" });
    await page.getByLabel("User", { exact: true }).selectOption({ label: username });
    await page.getByRole("checkbox", { name: "view" }).check();
    await page.getByRole("checkbox", { name: "power" }).check();
    await page.getByRole("button", { name: "Grant", exact: true }).click();
    const row = grants.getByRole("row").filter({ hasText: username });
    await row.filter({ hasText: "view, power" }).waitFor();
    const held = await rpc("user.grants", token, user);
    assert.deepEqual(held.map((g) => g.permission).sort(), ["power", "view"]);
    await page.getByRole("button", { name: `Revoke the permissions of ${username}` }).click();
    await row.waitFor({ state: "detached" });
    assert.deepEqual(await rpc("user.grants", token, user), []);
    assertNoProblems(page);
  } finally {
    await rpc("user.delete", token, user);
  }
});
