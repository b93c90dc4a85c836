// Every page: each control (button, link, field, checkbox, select) has an accessible name,
// as Chromium's accessibility tree computes it; the page fits a phone's width without the
// body scrolling sideways; and the navigation works from the keyboard alone.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { adminToken, assertNoProblems, launch, login, newPage, rpc, vmNamed } from "./browser.mjs";

let browser;
let token;
before(async () => {
  browser = await launch();
  token = await adminToken();
});
after(async () => browser?.close());

const CONTROLS = new Set(["button", "link", "textbox", "checkbox", "combobox", "spinbutton", "radio", "searchbox", "menuitem", "tab"]);

async function unnamedControls(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send("Accessibility.getFullAXTree");
  await cdp.detach();
  return nodes
    .filter((n) => !n.ignored && CONTROLS.has(n.role?.value) && !String(n.name?.value ?? "").trim())
    .map((n) => n.role.value);
}

/** Wait until no part of the view still says it is loading. */
async function settled(page) {
  await page.waitForFunction(() => ![...document.querySelectorAll("#view p")].some((p) => p.textContent === "Loading…"));
  await page.waitForTimeout(200);
}

async function pages() {
  const web = await vmNamed(token, "web");
  const node = (await rpc("node.list", token))[0].id;
  const admin = (await rpc("user.list", token)).find((u) => u.username === "admin").id;
  const vmTabs = ["status", "config", "maintenance", "console", "log", "users", "notes"].map((tab) => `#/vms/${web}/${tab}`);
  return ["#/home", "#/vms", "#/vms/new", ...vmTabs, "#/nodes", `#/nodes/${node}`, "#/users", `#/users/${admin}`,
    "#/config/preferences", "#/config/options", "#/config/modules"];
}

test("every control of every page has an accessible name, at 1280 px and at 390 px", async () => {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    const page = await newPage(browser, viewport);
    await login(page);
    for (const hash of await pages()) {
      await page.evaluate((h) => (location.hash = h), hash);
      await page.locator("#view h1").first().waitFor();
      await settled(page);
      assert.deepEqual(await unnamedControls(page), [], `controls without a name on ${hash}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${hash} scrolls sideways by ${overflow} px at ${viewport.width} px`);
    }
    assertNoProblems(page);
    await page.context().close();
  }
});

test("the sections are reached with the keyboard alone", async () => {
  const page = await newPage(browser);
  await login(page);
  // Tab from the top of the page to the "Virtual Machines" link and follow it with Enter.
  await page.keyboard.press("Tab"); // the skip link
  let focused = "";
  for (let i = 0; i < 10 && focused !== "Virtual Machines"; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  }
  assert.equal(focused, "Virtual Machines");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Virtual Machines" }).waitFor();
  assert.match(page.url(), /#\/vms$/);
  assertNoProblems(page);
});
