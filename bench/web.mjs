// bench/web.mjs: the measurements of bench/web.sh, in headless Chromium (see there).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { BASE, launch, login, newPage, rpc } from "../frontend/tests/browser.mjs";

const RUNS = Number(process.env.RUNS ?? 7);
const VMS = Number(process.env.VMS ?? 1000);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const worst = (xs) => Math.max(...xs);
const fmt = (ms) => `${ms.toFixed(0)} ms`;

const browser = await launch();
const page = await newPage(browser);
const token = await rpc("session.login", "admin", process.env.ZENTIFIC_ADMIN_PASSWORD);

// The dashboard's first load: a new page, logged in, to its counts drawn.
const firstLoad = [];
for (let i = 0; i < RUNS; i++) {
  const fresh = await newPage(browser);
  await fresh.goto(`${BASE}/`);
  await fresh.evaluate((t) => sessionStorage.setItem("zentific.token", t), token);
  await fresh.goto("about:blank"); // the tab keeps its sessionStorage
  const start = Date.now();
  await fresh.goto(`${BASE}/#/home`);
  await fresh.locator("[data-count=running] .figure").waitFor();
  await fresh.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r))));
  firstLoad.push(Date.now() - start);
  await fresh.context().close();
}

await login(page, "admin", process.env.ZENTIFIC_ADMIN_PASSWORD);

/**
 * Route change to #/vms until the list of every VM is there (its first screenfuls of rows
 * drawn: the table adds the others as it is scrolled) and the next frame is painted.
 */
const drawnRows = Math.min(VMS, 100);
const listOnce = () =>
  page.evaluate(
    ({ vms, drawnRows }) =>
      new Promise((resolve) => {
        const start = performance.now();
        const check = () => {
          const count = document.querySelector("#view")?.textContent.includes(`${vms} of ${vms}`);
          if (count && document.querySelectorAll("tbody tr[data-key]").length >= drawnRows) {
            requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - start)));
          } else requestAnimationFrame(check);
        };
        location.hash = "#/vms";
        requestAnimationFrame(check);
      }),
    { vms: VMS, drawnRows },
  );
const list = [];
for (let i = 0; i < RUNS; i++) {
  await page.evaluate(() => (location.hash = "#/home"));
  await page.locator("[data-count=running] .figure").waitFor();
  list.push(await listOnce());
}

// The peer: the same table as static HTML set in one go, with the page's stylesheet.
const rowsHtml = await page.evaluate(() => document.querySelector("table").outerHTML);
const staticTable = [];
for (let i = 0; i < RUNS; i++) {
  staticTable.push(
    await page.evaluate(
      (table) =>
        new Promise((resolve) => {
          const box = document.createElement("div");
          const start = performance.now();
          box.innerHTML = table;
          document.body.append(box);
          requestAnimationFrame(() =>
            setTimeout(() => {
              resolve(performance.now() - start);
              box.remove();
            }),
          );
        }),
      rowsHtml,
    ),
  );
}

// A state change by another client, seen in the open list.
await page.evaluate(() => (location.hash = "#/vms"));
await page.locator("tbody tr[data-key]").nth(drawnRows - 1).waitFor();
await page.evaluate(async () => {
  const live = await import("/ui/live.js");
  window.benchEvents = [];
  live.subscribe((events) => {
    const at = performance.timeOrigin + performance.now();
    for (const e of events) window.benchEvents.push({ at, kind: e.kind, state: e.state, job: e.job, target: e.target });
  });
});
// The first running VM the list draws.
const drawn = await page.evaluate(() => [...document.querySelectorAll("tbody tr[data-key]")].map((r) => Number(r.dataset.key)));
const vm = (await rpc("vm.list", token)).find((v) => drawn.includes(v.id) && v.state === "running");
const afterEvent = [];
const afterCall = [];
for (let i = 0; i < RUNS * 2; i++) {
  const [method, state] = i % 2 === 0 ? ["vm.pause", "paused"] : ["vm.unpause", "running"];
  const visible = page.evaluate(
    ({ id, state }) =>
      new Promise((resolve) => {
        const badge = () => document.querySelector(`tbody tr[data-key="${id}"] .badge`);
        const observer = new MutationObserver(() => {
          if (badge()?.textContent.trim() === state) {
            observer.disconnect();
            requestAnimationFrame(() => setTimeout(() => resolve(performance.timeOrigin + performance.now())));
          }
        });
        observer.observe(document.querySelector("tbody"), { subtree: true, childList: true, characterData: true });
      }),
    { id: vm.id, state },
  );
  const before = Date.now();
  const job = await rpc(method, token, vm.id);
  const called = Date.now();
  const shownAt = await visible;
  // The job's end reaches the page as its succeeded event and the VM's vm.state event
  // (one batch or two): the first of them to arrive.
  await page.waitForTimeout(300);
  const ended = await page.evaluate(
    ({ job, id, state, before }) =>
      Math.min(
        ...window.benchEvents
          .filter((e) => e.at >= before)
          .filter((e) => (e.job === job && e.state === "succeeded") || (e.kind === "vm.state" && Number(e.target) === id && e.state === state))
          .map((e) => e.at),
      ),
    { job, id: vm.id, state, before },
  );
  afterCall.push(shownAt - called);
  if (Number.isFinite(ended)) afterEvent.push(shownAt - ended);
}
await browser.close();

// The page's own JavaScript: as written (frontend/web/) and as the server sends it (each
// module minified by esbuild at build time; gzip per file, as the server compresses it).
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".js")) files.push(path);
  }
};
const web = new URL("../frontend/web/", import.meta.url).pathname;
walk(web);
const source = files.reduce((n, f) => n + readFileSync(f).length, 0);
const sent = await Promise.all(files.map((f) => fetch(`${BASE}/ui/${f.slice(web.length)}`).then((r) => r.arrayBuffer())));
const minified = sent.reduce((n, body) => n + body.byteLength, 0);
const gzip = sent.reduce((n, body) => n + gzipSync(Buffer.from(body), { level: 9 }).length, 0);

const ratio = median(list) / median(staticTable);
console.log(`| what | median | worst | target |`);
console.log(`|---|---|---|---|`);
console.log(`| dashboard first load (${RUNS} runs) | ${fmt(median(firstLoad))} | ${fmt(worst(firstLoad))} | < 300 ms |`);
console.log(`| VM list of ${VMS} VMs drawn (its first ${drawnRows} rows; ${RUNS} runs) | ${fmt(median(list))} | ${fmt(worst(list))} | < 300 ms |`);
console.log(`| the same table as static HTML (peer: the browser's floor) | ${fmt(median(staticTable))} | ${fmt(worst(staticTable))} | ratio ${ratio.toFixed(2)}× |`);
console.log(`| state change: job's end reaching the page → row painted (${afterEvent.length} runs) | ${fmt(median(afterEvent))} | ${fmt(worst(afterEvent))} | < 200 ms |`);
console.log(`| state change: other client's call returned → row painted (${afterCall.length} runs) | ${fmt(median(afterCall))} | ${fmt(worst(afterCall))} | — |`);
console.log(`| the page's own JavaScript (${files.length} files), as sent: minified · gzip | ${(minified / 1000).toFixed(1)} KB | ${(gzip / 1000).toFixed(1)} KB | < 100 KB |`);
console.log(`| the same as written in frontend/web/ | ${(source / 1000).toFixed(1)} KB | — | — |`);
