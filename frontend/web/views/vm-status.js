// views/vm-status.js: the VM's Status tab. Graphs of its CPU, memory, network and disk
// from stats.vm over a chosen window (the last hour, day, week or month, or two chosen
// times), at most about 300 points each; a window ending now is re-read every 10 s.
import { html, useEffect, useState } from "../html.js";
import { t } from "../i18n.js";
import { session } from "../rpc.js";
import { Fault, Graph } from "../ui.js";

const WINDOWS = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const MAX_POINTS = 300;

/** The graphs: each a list of [metric, series label key] and a scale for its values. */
const GRAPHS = [
  { key: "cpu", metrics: [["cpu_pct", "vm.stats.cpuPct"]], scale: 1 },
  { key: "memory", metrics: [["mem_kb", "vm.stats.memMib"]], scale: 1 / 1024 },
  { key: "network", metrics: [["net_rx_bps", "vm.stats.rx"], ["net_tx_bps", "vm.stats.tx"]], scale: 1 / 1024 },
  { key: "disk", metrics: [["disk_rd_bps", "vm.stats.read"], ["disk_wr_bps", "vm.stats.write"]], scale: 1 / 1024 },
];

export default function VmStatus({ vm }) {
  const [choice, setChoice] = useState("1h");
  const [custom, setCustom] = useState({ from: localInput(new Date(Date.now() - 86400000)), to: localInput(new Date()) });
  const range = choice === "custom" ? customRange(custom) : { seconds: WINDOWS[choice], live: true };
  return html`
    <div class="toolbar">
      <label for="vm-window">${t("vm.stats.window")}</label>
      <select id="vm-window" value=${choice} onChange=${(e) => setChoice(e.target.value)}>
        ${[...Object.keys(WINDOWS), "custom"].map((w) => html`<option value=${w}>${t(`vm.stats.w${w}`)}</option>`)}
      </select>
      ${choice === "custom" && html`
        <label for="vm-from">${t("vm.stats.from")}</label>
        <input id="vm-from" type="datetime-local" value=${custom.from} onChange=${(e) => setCustom({ ...custom, from: e.target.value })} />
        <label for="vm-to">${t("vm.stats.to")}</label>
        <input id="vm-to" type="datetime-local" value=${custom.to} onChange=${(e) => setCustom({ ...custom, to: e.target.value })} />`}
    </div>
    ${range.invalid
      ? html`<p class="error" role="alert">${t("vm.stats.badRange")}</p>`
      : html`<${VmGraphs} vm=${vm.id} range=${range} />`}`;
}

/** A datetime-local input's value for a time. */
function localInput(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

function customRange({ from, to }) {
  const start = new Date(from);
  const end = new Date(to);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) return { invalid: true };
  return { start: start.getTime(), end: end.getTime(), live: false };
}

/** The four graphs over `range`; re-read every 10 s while it ends now. */
function VmGraphs({ vm, range }) {
  const [graphs, setGraphs] = useState(null);
  const [error, setError] = useState(null);
  const rangeKey = range.live ? `last ${range.seconds}` : `${range.start}-${range.end}`;
  useEffect(() => {
    let alive = true;
    const load = async () => {
      const to = range.live ? new Date() : new Date(range.end);
      const from = range.live ? new Date(to.getTime() - range.seconds * 1000) : new Date(range.start);
      const step = Math.max(10, Math.ceil((to - from) / 1000 / MAX_POINTS));
      const read = (metric) => session.rpc("stats.vm", vm, metric, from, to, step);
      const loaded = await Promise.all(GRAPHS.map(async (graph) => ({
        key: graph.key,
        series: await Promise.all(graph.metrics.map(async ([metric, label]) => ({
          label: t(label),
          points: (await read(metric)).map((p) => ({ at: p.at, avg: p.avg * graph.scale })),
        }))),
      })));
      if (alive) {
        setGraphs(loaded);
        setError(null);
      }
    };
    const attempt = () => load().catch((e) => alive && setError(e));
    setGraphs(null);
    attempt();
    const timer = range.live ? setInterval(attempt, 10000) : null;
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [vm, rangeKey]);
  if (!graphs) return html`<${Fault} error=${error} />`;
  return html`<${Fault} error=${error} /><div class="graphs">
    ${graphs.map((graph) => graph.series.every((s) => s.points.length === 0)
      ? html`<div key=${graph.key} class="graph" data-graph=${graph.key}><p class="muted"><strong>${t(`vm.stats.${graph.key}`)}</strong>: ${t("vm.stats.none")}</p></div>`
      : html`<div key=${graph.key} data-graph=${graph.key}><${Graph} label=${t(`vm.stats.${graph.key}`)} series=${graph.series} /></div>`)}
  </div>`;
}
