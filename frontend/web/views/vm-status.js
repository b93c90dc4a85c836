// views/vm-status.js: the VM's Status tab: graphs of its CPU, memory, network and disk
// (stats.vm) over the last hour, day, week or month, or between two chosen times, at
// most about 300 points each; a window ending now is re-read every 10 s.
import { html, useState } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Graph, useLive } from "../ui.js";

const WINDOWS = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const MAX_POINTS = 300;

/** The graphs: each a list of [metric, series label key] and a scale for its values. */
const GRAPHS = [
  { key: "cpu", metrics: [["cpu_pct", "vm.stats.cpuPct"]], scale: 1 },
  { key: "memory", metrics: [["mem_kb", "vm.stats.memMib"]], scale: 1 / 1024 },
  { key: "network", metrics: [["net_rx_bps", "vm.stats.rx"], ["net_tx_bps", "vm.stats.tx"]], scale: 1 / 1024 },
  { key: "disk", metrics: [["disk_rd_bps", "vm.stats.read"], ["disk_wr_bps", "vm.stats.write"]], scale: 1 / 1024 },
];

/** A datetime-local input's value for a time. */
const localInput = (date) => new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);

export default function VmStatus({ vm }) {
  const [choice, setChoice] = useState("1h");
  const [custom, setCustom] = useState({ from: localInput(new Date(Date.now() - 86400000)), to: localInput(new Date()) });
  const [from, to] = [new Date(custom.from).getTime(), new Date(custom.to).getTime()];
  const range = choice !== "custom" ? { seconds: WINDOWS[choice] } : to > from ? { from, to } : null;
  const input = (key) => html`<label for=${`vm-${key}`}>${t(`vm.stats.${key}`)}</label>
    <input id=${`vm-${key}`} type="datetime-local" value=${custom[key]} onChange=${(e) => setCustom({ ...custom, [key]: e.target.value })} />`;
  return html`
    <div class="toolbar">
      <label for="vm-window">${t("vm.stats.window")}</label>
      <select id="vm-window" value=${choice} onChange=${(e) => setChoice(e.target.value)}>
        ${[...Object.keys(WINDOWS), "custom"].map((w) => html`<option value=${w}>${t(`vm.stats.w${w}`)}</option>`)}
      </select>
      ${choice === "custom" && html`${input("from")}${input("to")}`}
    </div>
    ${range ? html`<${VmGraphs} vm=${vm.id} range=${range} />` : html`<p class="error" role="alert">${t("vm.stats.badRange")}</p>`}`;
}

/** The four graphs over `range` ({seconds} up to now, or {from, to}); re-read every 10 s while it ends now. */
function VmGraphs({ vm, range }) {
  const { data: graphs, error } = useLive(async () => {
    const to = new Date(range.to ?? Date.now());
    const from = new Date(range.from ?? to.getTime() - range.seconds * 1000);
    const step = Math.max(10, Math.ceil((to - from) / 1000 / MAX_POINTS));
    return Promise.all(GRAPHS.map(async (graph) => ({
      key: graph.key,
      series: await Promise.all(graph.metrics.map(async ([metric, label]) => ({
        label: t(label),
        points: (await rpc("stats.vm", vm, metric, from, to, step)).map((p) => ({ at: p.at, avg: p.avg * graph.scale })),
      }))),
    })));
  }, undefined, [vm, range.seconds, range.from, range.to], range.seconds ? 10000 : 0);
  if (!graphs) return html`<${Fault} error=${error} />`;
  return html`<${Fault} error=${error} /><div class="graphs">
    ${graphs.map((graph) => graph.series.every((s) => s.points.length === 0)
      ? html`<div key=${graph.key} class="graph" data-graph=${graph.key}><p class="muted"><strong>${t(`vm.stats.${graph.key}`)}</strong>: ${t("vm.stats.none")}</p></div>`
      : html`<div key=${graph.key} data-graph=${graph.key}><${Graph} label=${t(`vm.stats.${graph.key}`)} series=${graph.series} /></div>`)}
  </div>`;
}
