// views/node.js: one node's page (#/nodes/<id>): its facts, graphs of its CPU and memory
// (staff), its VMs, its storage pools and volumes, Sync (staff, with the job's progress)
// and Remove (admins). Also what the list and the dashboard share: its state and graphs.
import { html, useState } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Facts, Fault, Graph, Loading, Section, Table, about, confirmed, duration, kib, useAction, useJob, useLive, when } from "../ui.js";

const WINDOWS = [["hour", 3600], ["day", 86400], ["week", 7 * 86400]];

/** The word for a node's state: unreachable, silent (its poller stopped) or reachable. */
export function nodeStateText(node) {
  if (!node.reachable) return t("nodes.unreachable");
  return node.silent ? t("nodes.silent") : t("nodes.reachable");
}

/** A node's state as a badge, with the reason when it is unreachable (unless `brief`). */
export function NodeState({ node, brief }) {
  const good = node.reachable && !node.silent;
  return html`<span class=${`badge ${good ? "ok" : "bad"}`}>${nodeStateText(node)}</span>${!brief && !node.reachable && node.status
    ? html` <span class="muted">${node.status}</span>`
    : ""}`;
}

/** CPU and memory of a node over the last `seconds`, re-read every 10 s. */
export function NodeGraphs({ node, seconds = 3600, height = 100 }) {
  const { data: series } = useLive(async () => {
    const to = new Date();
    const from = new Date(to.getTime() - seconds * 1000);
    const read = (metric) => rpc("stats.node", node, metric, from, to, Math.max(10, Math.round(seconds / 120)));
    const [cpu, used] = await Promise.all([read("cpu_pct"), read("mem_used_kb")]);
    return { cpu, used };
  }, undefined, [node, seconds], 10000);
  if (!series) return null;
  if (series.cpu.length === 0) return html`<p class="muted">${t("home.noSamples")}</p>`;
  return html`<div class="graphs">
    <${Graph} label=${t("graph.nodeCpu")} height=${height} series=${[{ label: "CPU %", points: series.cpu }]} />
    <${Graph} label=${t("graph.nodeMem")} height=${height} series=${[{ label: "MiB", points: series.used.map((p) => ({ at: p.at, avg: p.avg / 1024 })) }]} />
  </div>`;
}

export default function NodePage({ id, me }) {
  const staff = me.role !== "user";
  const { data: node, error } = useLive(() => rpc("node.get", id), about("node", id), [id]);
  const back = html`<p><a href="#/nodes">${t("nodes.back")}</a></p>`;
  if (!node) return html`${back}<${Loading} error=${error} />`;
  return html`${back}
    <h1>${node.name} <${NodeState} node=${node} /></h1>
    <${Fault} error=${error} />
    ${staff && html`<${NodeActions} node=${node} admin=${me.role === "admin"} />`}
    <${NodeFacts} node=${node} staff=${staff} />
    ${staff && html`<${NodeStatistics} id=${id} />`}
    <${NodeVms} id=${id} />
    <${NodePools} id=${id} />`;
}

function NodeFacts({ node, staff }) {
  return html`<${Facts} facts=${[
    [t("nodes.hostname"), node.hostname],
    [t("nodes.transport"), node.transport],
    staff && [t("nodes.uri"), node.uri],
    [t("nodes.vms"), node.vm_count],
    [t("nodes.created"), when(node.created)],
    [t("nodes.synced"), when(node.synced)],
    staff && [t("nodes.status"), node.status || "–"],
    staff && [t("nodes.lastSample"), when(node.last_seen)],
    staff && [t("nodes.pollInterval"), duration(node.poll_interval)],
  ]} />`;
}

function JobProgress({ id, label }) {
  const { data: job } = useJob(id);
  if (job?.state === "failed") return html`<span class="error" role="alert">${t("nodes.jobFailed", { label, id, error: job.error })}</span>`;
  return html`<span role="status">${t("nodes.jobState", { label, id, state: t(`nodes.job.${job?.state ?? "pending"}`) })}</span>`;
}

function NodeActions({ node, admin }) {
  const action = useAction();
  const remove = () => confirmed(t("nodes.removeConfirm", { name: node.name }), () => action.run(async () => {
    await rpc("node.remove", node.id);
    location.hash = "#/nodes";
  }));
  const job = typeof action.result === "number" ? action.result : null;
  return html`<div class="toolbar">
    <button type="button" onClick=${() => action.run(() => rpc("node.sync", node.id))}>${t("nodes.sync")}</button>
    ${admin && html`<button type="button" class="danger" onClick=${remove}>${t("nodes.remove")}</button>`}
    ${job && html`<${JobProgress} key=${job} id=${job} label=${t("nodes.sync")} />`}
    <${Fault} error=${action.error} />
  </div>`;
}

function NodeStatistics({ id }) {
  const [span, setSpan] = useState(3600);
  return html`<section aria-labelledby="node-stats">
    <h2 id="node-stats">${t("nodes.statistics")}</h2>
    <div class="toolbar" role="group" aria-label=${t("nodes.timeWindow")}>
      ${WINDOWS.map(([name, seconds]) => html`<button type="button" aria-pressed=${span === seconds}
        onClick=${() => setSpan(seconds)}>${t(`nodes.window.${name}`)}</button>`)}
    </div>
    <${NodeGraphs} key=${span} node=${id} seconds=${span} height=${160} />
  </section>`;
}

function NodeVms({ id }) {
  const live = useLive(() => rpc("vm.list", { node: id }), (e) => e.target_kind === "vm", [id]);
  const columns = [
    { key: "name", label: t("vms.name"), render: (vm) => html`<a href=${`#/vms/${vm.id}`}>${vm.name}</a>` },
    { key: "state", label: t("vms.state"), render: (vm) => html`<span class=${`state-${vm.state}`}>${t(`state.${vm.state}`)}</span>` },
    { key: "memory_kb", label: t("vms.memory"), render: (vm) => kib(vm.memory_kb) },
    { key: "vcpus", label: t("vms.vcpus") },
    { key: "os", label: t("vms.os") },
  ];
  return html`<${Section} id="node-vms" title=${t("nodes.vmsTitle")} live=${live}>
    ${(vms) => html`<${Table} caption=${t("nodes.vmsCaption")} columns=${columns} rows=${vms} empty=${t("nodes.noVms")} />`}
  <//>`;
}

const touchesStorage = (e) => e.target_kind === "pool" || e.target_kind === "volume" || e.kind.startsWith("storage.");

async function poolsWithVolumes(node) {
  const pools = await rpc("storage.list", { node });
  const volumes = await Promise.all(pools.map((pool) => rpc("storage.volumes", pool.id)));
  return pools.map((pool, i) => ({ ...pool, volumes: volumes[i] }));
}

/** The size columns of pools and volumes. */
const SIZES = [
  { key: "capacity_kb", label: "nodes.capacity", render: (r) => kib(r.capacity_kb) },
  { key: "allocation_kb", label: "nodes.allocation", render: (r) => kib(r.allocation_kb) },
];

function NodePools({ id }) {
  const live = useLive(() => poolsWithVolumes(id), touchesStorage, [id]);
  const sizes = SIZES.map((c) => ({ ...c, label: t(c.label) }));
  const pools = [{ key: "name", label: t("nodes.name") }, { key: "kind", label: t("nodes.poolKind") }, { key: "path", label: t("nodes.path") }, ...sizes];
  const volumes = [{ key: "name", label: t("nodes.name") }, { key: "path", label: t("nodes.path") }, ...sizes,
    { key: "state", label: t("nodes.state"), render: (v) => t(`nodes.volume.${v.state}`) }];
  return html`<${Section} id="node-pools" title=${t("nodes.poolsTitle")} live=${live}>
    ${(list) => html`<${Table} caption=${t("nodes.poolsCaption")} columns=${pools} rows=${list} empty=${t("nodes.noPools")} />
      ${list.map((pool) => html`<h3 key=${`h${pool.id}`}>${t("nodes.volumesOf", { pool: pool.name })}</h3>
        <${Table} key=${pool.id} caption=${t("nodes.volumesCaption", { pool: pool.name })} columns=${volumes} rows=${pool.volumes} empty=${t("nodes.noVolumes")} />`)}`}
  <//>`;
}
