// ui.js: the pieces every view shares: loading data (re-read when an event touches it),
// jobs and actions with their outcome, form fields, a sortable and filterable table, a
// live graph, tabs, fault messages and the formatting of sizes, durations and times.
import { html, useEffect, useMemo, useRef, useState } from "./html.js";
import { t } from "./i18n.js";
import { subscribe } from "./live.js";
import { RpcFault, rpc } from "./rpc.js";
import uPlot from "uplot";

/**
 * Load with `fetch()` now and again whenever `touches(event)` is true for an event of
 * the stream (re-reads are coalesced over 50 ms), and every `every` ms when given.
 * Returns {data, error, reload}.
 */
export function useLive(fetch, touches = () => false, deps = [], every = 0) {
  const [state, setState] = useState({ data: undefined, error: null });
  const latest = useRef(fetch);
  latest.current = fetch;
  const reloader = useRef(() => {});
  useEffect(() => {
    let alive = true;
    let timer = null;
    const load = () =>
      latest.current().then(
        (data) => alive && setState({ data, error: null }),
        (error) => alive && setState((s) => ({ data: s.data, error })),
      );
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(load, 50);
    };
    reloader.current = load;
    load();
    const ticker = every ? setInterval(load, every) : null;
    const unsubscribe = subscribe((events) => {
      if (events.some((e) => e.kind === "resync" || touches(e))) soon();
    });
    return () => {
      alive = false;
      clearTimeout(timer);
      clearInterval(ticker);
      unsubscribe();
    };
  }, deps);
  return { ...state, reload: () => reloader.current() };
}

/** True for the events about one record: `kind` (vm, node, user…) number `id`. */
export const about = (kind, id) => (e) => e.target_kind === kind && String(e.target) === String(id);

/** A job's record (job.get), re-read on each of its events; null while `id` is unset. */
export function useJob(id) {
  return useLive(() => (id ? rpc("job.get", id) : Promise.resolve(null)), (e) => Number(e.job) === id, [id]);
}

/**
 * One action at a time (a form's call, a button's). `run(work, done)` awaits `work()`,
 * keeps its answer as `result`, and says whether it went through; `status` then shows
 * `done` (a "saved" message) or the fault. `fail(text)` refuses in the page's own words.
 */
export function useAction() {
  const [state, setState] = useState({ busy: false, error: null, done: "" });
  const run = async (work, done = "") => {
    setState({ busy: true, error: null, done: "" });
    try {
      const result = await work();
      setState({ busy: false, error: null, done, result });
      return true;
    } catch (error) {
      setState({ busy: false, error, done: "" });
      return false;
    }
  };
  const fail = (error) => setState({ busy: false, error, done: "" });
  const status = html`<span role="status">${state.done}</span><${Fault} error=${state.error} />`;
  return { ...state, run, fail, reset: () => fail(null), status };
}

/** `work()`, once the user said yes to `question`. */
export const confirmed = (question, work) => confirm(question) && work();

/** A view from a module imported on first use (`load()`), rendered with `props`; Loading until then. */
export function Lazy({ load, props }) {
  const { data: module, error } = useLive(load, undefined, [load]);
  if (!module) return html`<${Loading} error=${error} />`;
  return html`<${module.default} ...${props} />`;
}

/** A VM's state as a coloured badge. */
export function StateBadge({ state }) {
  return html`<span class=${`badge state-${state}`} data-state=${state}>${t(`state.${state}`)}</span>`;
}

/** The message of a failure: the page's own words (a string), the fault's, or why the server is unreachable. */
export function faultText(error) {
  if (!error || typeof error === "string") return error || "";
  if (error instanceof RpcFault) return error.message;
  return t("error.unreachable", { reason: error.message });
}

/** A failure shown as an alert (nothing when there is none). */
export function Fault({ error, id }) {
  return error ? html`<p class="error" role="alert" id=${id}>${faultText(error)}</p>` : null;
}

/** What a view shows while its first answer is on its way, or when it failed. */
export function Loading({ error }) {
  return error ? html`<${Fault} error=${error} />` : html`<p class="muted">${t("loading")}</p>`;
}

/**
 * A section of a page under its heading `title` (`id` names it): `children`, or with
 * `live` (what useLive gives) `children(data)` once there is data, and its fault.
 */
export function Section({ id, title, live, children }) {
  return html`<section aria-labelledby=${id}>
    <h2 id=${id}>${title}</h2>
    ${!live ? children : live.data ? html`<${Fault} error=${live.error} />${children(live.data)}` : html`<${Loading} error=${live.error} />`}
  </section>`;
}

/** Terms and their values as a dl: [term, value, attributes of the value?], false ones left out. */
export function Facts({ label, facts }) {
  return html`<dl class="facts" aria-label=${label}>
    ${facts.filter(Boolean).map(([term, value, attributes]) => html`<dt>${term}</dt><dd ...${attributes}>${value}</dd>`)}
  </dl>`;
}

/**
 * A label and its control: an input with the other props, or a select of the options
 * given as children. A `hint` and an `error` (what is wrong with the value) show below
 * it and describe it.
 */
export function Field({ id, label, hint, error, children, ...props }) {
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ") || undefined;
  const attributes = { id, "aria-describedby": describedBy, "aria-invalid": error ? "true" : undefined, ...props };
  return html`<label for=${id}>${label}</label>
    ${children === undefined ? html`<input ...${attributes} />` : html`<select ...${attributes}>${children}</select>`}
    ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
    ${error && html`<p class="hint" id=${`${id}-error`}><span class="error">${error}</span></p>`}`;
}

/** The last row of a form.grid: its submit button (`label`, disabled while `busy`), and what follows it. */
export function Submit({ label, busy, plain, children }) {
  return html`<span></span><div class="toolbar">
    <button type="submit" class=${plain ? undefined : "primary"} disabled=${busy}>${label}</button>${children}
  </div>`;
}

/** `options` ([value, text] pairs or values) as the options of a select. */
export const options = (list) => list.map((o) => {
  const [value, text] = Array.isArray(o) ? o : [o, o];
  return html`<option key=${value} value=${value}>${text}</option>`;
});

/**
 * The column of a row's buttons: each of `buttons(row)` is {text, name (its accessible
 * name), onClick, danger?, busy?}.
 */
export const buttonsColumn = (label, buttons) => ({
  key: "actions", label, sortable: false,
  render: (row) => html`<div class="actions">${buttons(row).map((b) => html`<button type="button"
    class=${b.danger ? "danger" : undefined} disabled=${b.busy} aria-label=${b.name} onClick=${b.onClick}>${b.text}</button>`)}</div>`,
});

/**
 * A table of records. columns: [{key, label, value?(row) (sorts and filters), render?(row)}].
 * Sortable by clicking a header; `filter` (text) keeps rows whose values contain it.
 * With `selected` (a Set of keys) and `onSelect`, rows get a checkbox each.
 */
export function Table({ caption, columns, rows, rowKey = (r) => r.id, filter = "", selected, onSelect, empty }) {
  const [sort, setSort] = useState({ key: null, up: true });
  const [limit, setLimit] = useState(FIRST_ROWS);
  const valueOf = (column, row) => (column.value ? column.value(row) : row[column.key]);
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    let out = needle
      ? rows.filter((row) => columns.some((c) => String(valueOf(c, row) ?? "").toLowerCase().includes(needle)))
      : rows.slice();
    const column = columns.find((c) => c.key === sort.key);
    if (column) {
      out.sort((a, b) => compare(valueOf(column, a), valueOf(column, b)) * (sort.up ? 1 : -1));
    }
    return out;
  }, [rows, filter, sort, columns]);
  const toggle = (key) => setSort((s) => ({ key, up: s.key === key ? !s.up : true }));
  const allSelected = selected && shown.length > 0 && shown.every((r) => selected.has(rowKey(r)));
  const selectAll = () => onSelect(new Set(allSelected ? [] : shown.map(rowKey)));
  const selectOne = (key) => {
    const next = new Set(selected);
    next.has(key) ? next.delete(key) : next.add(key);
    onSelect(next);
  };
  const width = columns.length + (selected ? 1 : 0);
  return html`<div class="table-wrap"><table>
    ${caption && html`<caption>${caption}</caption>`}
    <thead><tr>
      ${selected && html`<th scope="col"><input type="checkbox" aria-label=${t("table.selectAll")} checked=${allSelected} onChange=${selectAll} /></th>`}
      ${columns.map((c) => {
        const sorted = sort.key === c.key ? (sort.up ? "ascending" : "descending") : "none";
        return c.sortable === false
          ? html`<th scope="col">${c.label}</th>`
          : html`<th scope="col" aria-sort=${sorted}><button type="button" class="sort" onClick=${() => toggle(c.key)}>${c.label}${sorted === "ascending" ? " ▲" : sorted === "descending" ? " ▼" : ""}</button></th>`;
      })}
    </tr></thead>
    <tbody>
      ${shown.length === 0 && html`<tr><td colspan=${width} class="muted">${empty ?? t("table.empty")}</td></tr>`}
      ${shown.slice(0, limit).map((row) => {
        const key = rowKey(row);
        return html`<tr key=${key} data-key=${key}>
          ${selected && html`<td><input type="checkbox" aria-label=${t("table.select", { name: row.name ?? key })} checked=${selected.has(key)} onChange=${() => selectOne(key)} /></td>`}
          ${columns.map((c) => html`<td data-column=${c.key}>${c.render ? c.render(row) : valueOf(c, row) ?? "–"}</td>`)}
        </tr>`;
      })}
      ${shown.length > limit && html`<${MoreRows} key="more" columns=${width}
        shown=${limit} total=${shown.length} more=${() => setLimit((n) => n + MORE_ROWS)} all=${() => setLimit(Infinity)} />`}
    </tbody>
  </table></div>`;
}

/** Rows drawn at first, and added each time the end of the table scrolls into view. */
const FIRST_ROWS = 100;
const MORE_ROWS = 300;

/**
 * The last row of a long table: draws more rows when it scrolls into view (a table of
 * 1,000 VMs is drawn a screenful at a time), or all of them on request.
 */
function MoreRows({ columns, shown, total, more, all }) {
  const row = useRef(null);
  useEffect(() => {
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && more(), { rootMargin: "400px" });
    observer.observe(row.current);
    return () => observer.disconnect();
  }, [shown]);
  return html`<tr ref=${row} class="more-rows"><td colspan=${columns} class="muted">
    ${t("table.more", { shown, total })} <button type="button" onClick=${all}>${t("table.showAll", { total })}</button>
  </td></tr>`;
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (a instanceof Date && b instanceof Date) return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** Tabs over panels: tabs [{id, label}], the current id, and where each tab links to. */
export function Tabs({ label, tabs, current, href }) {
  return html`<nav class="tabs" aria-label=${label}>
    ${tabs.map((tab) => html`<a href=${href(tab.id)} aria-current=${tab.id === current ? "page" : undefined}>${tab.label}</a>`)}
  </nav>`;
}

/**
 * A line graph of series [{label, points: [{at: Date, avg}]}] with uPlot; `label` is its
 * accessible name. Redrawn when the points change.
 */
export function Graph({ label, series, height = 160, width }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.at.getTime() / 1000)))].sort((a, b) => a - b);
    const index = new Map(times.map((time, i) => [time, i]));
    const columns = series.map((s) => {
      const column = new Array(times.length).fill(null);
      for (const p of s.points) column[index.get(p.at.getTime() / 1000)] = p.avg;
      return column;
    });
    const colours = ["#2a6fdb", "#d9822b", "#2e9e5b", "#b34fbf"];
    // The canvas needs real colours: the theme's text colour, read from the page.
    const ink = getComputedStyle(element).color;
    const grid = { stroke: "rgba(128,128,128,.25)", width: 1 };
    const small = height < 120;
    const plot = new uPlot(
      {
        width: width ?? Math.max(200, element.clientWidth || 300),
        height,
        legend: { show: series.length > 1 },
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colours[i % colours.length], width: 1.5, spanGaps: false }))],
        axes: [
          { stroke: ink, grid, ticks: grid, space: small ? 80 : 60, values: small ? (u, ticks) => ticks.map(clock) : undefined },
          { stroke: ink, grid, ticks: grid, size: 60, space: small ? 18 : 30 },
        ],
        // Figures start at zero, so a flat line reads as its level, not as noise.
        scales: { y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] } },
        cursor: { drag: { x: false, y: false } },
      },
      [times, ...columns],
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width ?? Math.max(200, element.clientWidth), height }));
    if (!width) resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, height, width]);
  return html`<figure class="graph" role="img" aria-label=${label}><div ref=${box}></div><figcaption>${label}</figcaption></figure>`;
}

/** A time of day (hours and minutes) of Unix seconds. */
const clock = (seconds) => new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** A size in KiB as KiB, MiB, GiB or TiB. */
export function kib(value) {
  if (value === undefined || value === null) return "–";
  let n = Number(value);
  for (const unit of ["KiB", "MiB", "GiB"]) {
    if (Math.abs(n) < 1024) return `${round(n)} ${unit}`;
    n /= 1024;
  }
  return `${round(n)} TiB`;
}

const round = (n) => (Math.abs(n) >= 100 || Number.isInteger(n) ? Math.round(n) : n.toFixed(1));

/** A duration in seconds as "3 d 4 h", "5 h 2 min", "42 s". */
export function duration(seconds) {
  if (seconds === undefined || seconds === null || seconds < 0) return "–";
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return t("duration.dh", { d, h });
  if (h) return t("duration.hm", { h, m });
  if (m) return t("duration.m", { m });
  return t("duration.s", { s });
}

/** A time as the browser's locale writes it. */
export const when = (date) => (date instanceof Date && !Number.isNaN(date.getTime()) ? date.toLocaleString() : "–");

/** The `#/…` route split into its parts (without the `?…` query). */
export const routeParts = () => location.hash.replace(/^#\/?/, "").split("?")[0].split("/").filter(Boolean).map(decodeURIComponent);

/** The `?name=value&…` query of the `#/…` route. */
export const routeQuery = () => new URLSearchParams(location.hash.split("?")[1] ?? "");
