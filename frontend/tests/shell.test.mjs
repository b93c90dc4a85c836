// The shell: logging in, the dashboard's counts, the session's end, escaping.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BASE, adminToken, assertNoProblems, launch, login, newPage, rpc } from "./browser.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("logging in shows the dashboard with the counts of VMs by state", async () => {
  const page = await newPage(browser);
  await login(page);
  const token = await adminToken();
  const vms = await rpc("vm.list", token);
  const running = vms.filter((v) => ["running", "idle"].includes(v.state)).length;
  const paused = vms.filter((v) => v.state === "paused").length;
  assert.ok(running > 0 && paused > 0, "the demo node has running and paused VMs");
  await page.getByRole("heading", { name: "Status" }).waitFor();
  const figure = (group) => page.locator(`[data-count=${group}] .figure`);
  assert.equal(Number(await figure("running").textContent()), running);
  assert.equal(Number(await figure("paused").textContent()), paused);
  assertNoProblems(page);
});

test("a wrong password is refused with the server's words, and nothing is stored", async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/`);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").filter({ hasText: /password/i }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assertNoProblems(page);
});

test("the token stays out of the URL, and an ended session returns to the login form", async () => {
  const page = await newPage(browser);
  await login(page);
  assert.ok(!page.url().includes(await page.evaluate(() => sessionStorage.getItem("zentific.token"))));
  // The session ends elsewhere (logout with the same token).
  const token = await page.evaluate(() => sessionStorage.getItem("zentific.token"));
  await rpc("session.logout", token);
  // The next call the page makes (here: the dashboard's, when it is shown again) is
  // refused, and the page returns to the login form.
  await page.evaluate(() => (location.hash = "#/config"));
  await page.evaluate(() => (location.hash = "#/home"));
  await page.getByRole("button", { name: "Log in" }).waitFor();
  await page.getByText("Your session ended").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("zentific.token")), null);
  // Logging out through the page ends the session on the server too.
  await login(page);
  const second = await page.evaluate(() => sessionStorage.getItem("zentific.token"));
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
  await assert.rejects(rpc("session.whoami", second), (e) => e.code === 1);
});
