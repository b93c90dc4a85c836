// browser.mjs: what the browser tests share. Debian's Chromium driven by playwright-core
// against the server the Rust test `tests/web.rs` started (ZENTIFIC_URL, the admin's
// password in ZENTIFIC_ADMIN_PASSWORD); an XML-RPC client of our own for setting things up
// as "another client" would; and a record of page errors, which fail the test.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

export const BASE = process.env.ZENTIFIC_URL ?? "http://127.0.0.1:8080";
export const ADMIN_PASSWORD = process.env.ZENTIFIC_ADMIN_PASSWORD ?? "change-me";

/** Chromium as this machine runs it: headless, no sandbox as root, no outside traffic. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/**
 * A new page of its own context (its own sessionStorage) at `width`×`height`; every page
 * error and console error is collected in `page.problems`.
 */
export async function newPage(browser, { width = 1280, height = 800, colorScheme = "light" } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && page.problems.push(`console error: ${m.text()}`));
  return page;
}

/** Fails when the page had errors. */
export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], "the page reported errors");
}

/** Open the page and log in through its form. */
export async function login(page, username = "admin", password = ADMIN_PASSWORD) {
  await page.goto(`${BASE}/`);
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor();
}

// An outside XML-RPC client (plain fetch and text), for what "another client" does.
const escape = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
function encode(v) {
  if (typeof v === "number") return `<value><int>${v}</int></value>`;
  if (typeof v === "boolean") return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(encode).join("")}</data></array></value>`;
  if (typeof v === "object") {
    return `<value><struct>${Object.entries(v).map(([k, x]) => `<member><name>${k}</name>${encode(x)}</member>`).join("")}</struct></value>`;
  }
  return `<value><string>${escape(v)}</string></value>`;
}
function decode(xml) {
  // Enough of a reader for the tests' setup calls: scalars, arrays and structs.
  let at = 0;
  const next = (re) => {
    re.lastIndex = at;
    const m = re.exec(xml);
    if (!m || m.index !== at) throw new Error(`unexpected answer near ${xml.slice(at, at + 60)}`);
    at = re.lastIndex;
    return m;
  };
  const ws = () => next(/\s*/y);
  const value = () => {
    ws(); next(/<value>/y); ws();
    let out;
    if (xml.startsWith("<struct>", at)) {
      next(/<struct>/y); out = {}; ws();
      while (xml.startsWith("<member>", at)) {
        next(/<member>\s*/y);
        const name = next(/<name>([^<]*)<\/name>/y)[1];
        out[name] = value(); ws(); next(/<\/member>\s*/y);
      }
      next(/<\/struct>/y);
    } else if (xml.startsWith("<array>", at)) {
      next(/<array>\s*<data>/y); out = []; ws();
      while (xml.startsWith("<value>", at)) { out.push(value()); ws(); }
      next(/<\/data>\s*<\/array>/y);
    } else {
      const m = next(/<(\w+(?:\.\w+)?)>([^<]*)<\/\1>|<nil\/>|([^<]*)/y);
      const [type, text] = [m[1], m[2] ?? m[3] ?? ""];
      const unescaped = text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
      out = ["int", "i4", "i8", "double"].includes(type) ? Number(text) : type === "boolean" ? text === "1" : m[0] === "<nil/>" ? null : unescaped;
    }
    ws(); next(/<\/value>/y);
    return out;
  };
  const fault = xml.indexOf("<fault>");
  at = xml.indexOf("<value>", fault >= 0 ? fault : 0);
  const result = value();
  if (fault >= 0) {
    const error = new Error(result.faultString);
    error.code = result.faultCode;
    throw error;
  }
  return result;
}

/** Call the API as an outside client would. */
export async function rpc(method, ...params) {
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${encode(p)}</param>`).join("")}</params></methodCall>`;
  const response = await fetch(`${BASE}/RPC2`, { method: "POST", headers: { "Content-Type": "text/xml" }, body });
  return decode(await response.text());
}

/** The admin's token, for the outside client. */
export const adminToken = () => rpc("session.login", "admin", ADMIN_PASSWORD);

/** Wait for a job to end; returns its record. */
export async function finished(token, job) {
  for (let i = 0; i < 200; i++) {
    const record = await rpc("job.get", token, job);
    if (["succeeded", "failed", "cancelled"].includes(record.state)) return record;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${job} did not finish`);
}

/** The id of the VM named `name`. */
export async function vmNamed(token, name) {
  const vm = (await rpc("vm.list", token)).find((v) => v.name === name);
  assert.ok(vm, `no VM named ${name}`);
  return vm.id;
}
