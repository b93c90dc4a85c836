// console.e2e.mjs: the VM's Console tab against real consoles, run by the Rust test
// `tests/console.rs`: CONSOLE_VM has x11vnc on an Xvfb display painted CONSOLE_COLOUR
// (xev on its root window writes the key events it gets to CONSOLE_XEV_LOG);
// CONSOLE_TEXT_VM is a guest on an SSH node whose `xl console` echoes what it reads.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { BASE, assertNoProblems, launch, login, newPage } from "./browser.mjs";

const { CONSOLE_VM: VM, CONSOLE_TEXT_VM: TEXT_VM, CONSOLE_COLOUR: COLOUR, CONSOLE_XEV_LOG: XEV_LOG } = process.env;
// With CONSOLE_SCREENSHOTS (a directory), both consoles are photographed there too.
const SHOTS = process.env.CONSOLE_SCREENSHOTS;
const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** The keysym names of the KeyPress events xev reported, in order. */
function keyPresses() {
  return readFileSync(XEV_LOG, "utf8")
    .split(/\n(?=\S)/)
    .filter((block) => block.startsWith("KeyPress"))
    .map((block) => block.match(/keysym 0x[0-9a-f]+, (\w+)/)?.[1])
    .filter(Boolean);
}

async function until(what, check, seconds = 15) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("the graphical console shows the VM's screen and types Ctrl-Alt-Del and pasted text", async () => {
  assert.ok(VM && COLOUR && XEV_LOG, "run by tests/console.rs");
  const page = await newPage(browser);
  await login(page);
  await page.goto(`${BASE}/#/vms/${VM}/console`);
  const frame = page.frameLocator("iframe.console-frame");
  await frame.getByText("Connected.").waitFor({ timeout: 20000 });
  // The canvas noVNC draws shows the display's colour.
  const [r, g, b] = rgb(COLOUR);
  const canvas = frame.locator(".console-screen canvas");
  let seen;
  await until(`the canvas to show the display's colour ${COLOUR}`, async () => {
    seen = await canvas.evaluate((c) => [c.width, c.height, ...c.getContext("2d").getImageData(c.width >> 1, c.height >> 1, 1, 1).data]);
    const [, , pr, pg, pb] = seen;
    return Math.abs(pr - r) + Math.abs(pg - g) + Math.abs(pb - b) < 6;
  }).catch((e) => assert.fail(`${e.message}; the canvas (width, height, RGBA) is ${seen}`));
  const first = keyPresses().length;
  await frame.getByRole("button", { name: "Send Ctrl-Alt-Del" }).click();
  await until("Ctrl-Alt-Del at the display", () => {
    const keys = keyPresses().slice(first);
    return ["Control_L", "Alt_L", "Delete"].every((k) => keys.includes(k));
  });
  const pasted = "Hi zentific 42!";
  await frame.getByLabel("Text to type into the VM").fill(pasted);
  const start = keyPresses().length;
  await frame.getByRole("button", { name: "Paste as keystrokes" }).click();
  const names = { " ": "space", "!": "exclam" };
  const expected = [...pasted].map((c) => names[c] ?? c);
  const typed = () => keyPresses().slice(start).filter((k) => !k.startsWith("Shift"));
  await until("the pasted text at the display", () => typed().length >= expected.length);
  assert.deepEqual(typed(), expected);
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/vm-console-vnc.png` });
  // Disconnect, then connect again with a fresh ticket.
  await frame.getByRole("button", { name: "Disconnect" }).click();
  await frame.getByText("Disconnected.").waitFor();
  await frame.getByRole("button", { name: "Connect again" }).click();
  await frame.getByText("Connected.").waitFor({ timeout: 20000 });
  // The console in a window of its own: the same page, its own ticket, the same session.
  const [popup] = await Promise.all([page.waitForEvent("popup"), frame.getByRole("button", { name: "Open in a new window" }).click()]);
  await popup.getByText("Connected.").waitFor({ timeout: 20000 });
  assert.equal(await popup.getByRole("button", { name: "Open in a new window" }).count(), 0, "no second window from the window");
  await popup.close();
  assertNoProblems(page);
  await page.context().close();
});

test("the text console is a terminal: what is typed into it comes back from the guest", async () => {
  assert.ok(TEXT_VM, "run by tests/console.rs");
  const page = await newPage(browser);
  await login(page);
  await page.goto(`${BASE}/#/vms/${TEXT_VM}/console`);
  await page.getByLabel("Kind of console").selectOption("text");
  const frame = page.frameLocator("iframe.console-frame");
  await frame.getByText("Connected.").waitFor({ timeout: 20000 });
  await frame.locator(".xterm").click();
  await page.keyboard.type("echo from xterm");
  await until("the guest's echo in the terminal", () =>
    frame.locator(".xterm-rows").textContent().then((text) => text.includes("echo from xterm")),
  );
  // Pasted text goes to the guest as bytes too.
  await frame.getByLabel("Text to type into the VM").fill(" and pasted");
  await frame.getByRole("button", { name: "Paste as keystrokes" }).click();
  await until("the pasted text echoed", () =>
    frame.locator(".xterm-rows").textContent().then((text) => text.includes("echo from xterm and pasted")),
  );
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/vm-console-text.png` });
  assertNoProblems(page);
  await page.context().close();
});
