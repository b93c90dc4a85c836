// views/node.js: one node's page (#/nodes/<id>). Its facts, graphs of its CPU and memory
// over a chosen window (staff), its VMs, its storage pools with their volumes, Sync
// (operators and admins, with the job's progress) and Remove (admins). Also the node's
// state badge, which the list shares.
import { html, useEffect, useState } from "../html.js";
import { t } from "../i18n.js";
import { subscribe } from "../live.js";
import { session } from "../rpc.js";
import { Fault, Loading, Table, duration, kib, useLive, when } from "../ui.js";
import { NodeGraphs } from "./home.js";

const WINDOWS = [["hour", 3600], ["day", 86400], ["week", 7 * 86400]];

/** The word for a node's state: unreachable, silent (its poller stopped) or reachable. */
export function nodeStateText(node) {
  if (!node.reachable) return t("nodes.unreachable");
  return node.silent ? t("nodes.silent") : t("nodes.reachable");
}

/** A node's state as a badge, with the reason when it is unreachable. */
export function NodeState({ node }) {
  const good = node.reachable && !node.silent;
  return html`<span class=${`badge ${good ? "ok" : "bad"}`}>${nodeStateText(node)}</span>${!node.reachable && node.status
    ? html` <span class="muted">${node.status}</span>`
    : ""}`;
}

export default function NodePage({ id, me }) {
  const staff = me.role !== "user";
  const { data: node, error } = useLive(
    () => session.rpc("node.get", id),
    (e) => e.target_kind === "node" && String(e.target) === String(id),
    [id],
  );
  const back = html`<p><a href="#/nodes">${t("nodes.back")}</a></p>`;
  if (!node) return html`${back}<${Loading} error=${error} />`;
  return html`${back}
    <h1>${node.name} <${NodeState} node=${node} /></h1>
    <${Fault} error=${error} />
    <${NodeActions} node=${node} me=${me} />
    <${NodeFacts} node=${node} staff=${staff} />
    ${staff && html`<${NodeStatistics} id=${id} />`}
    <${NodeVms} id=${id} />
    <${NodePools} id=${id} />`;
}

function NodeFacts({ node, staff }) {
  const facts = [
    [t("nodes.hostname"), node.hostname],
    [t("nodes.transport"), node.transport],
    staff && [t("nodes.uri"), node.uri],
    [t("nodes.vms"), node.vm_count],
    [t("nodes.created"), when(node.created)],
    [t("nodes.synced"), when(node.synced)],
    staff && [t("nodes.status"), node.status || "–"],
    staff && [t("nodes.lastSample"), when(node.last_seen)],
    staff && [t("nodes.pollInterval"), duration(node.poll_interval)],
  ].filter(Boolean);
  return html`<dl class="facts">
    ${facts.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}
  </dl>`;
}

/** A job's record, re-read whenever the event stream mentions it. */
function useJob(id) {
  const [job, setJob] = useState(null);
  useEffect(() => {
    if (!id) return undefined;
    let alive = true;
    const read = () => session.rpc("job.get", id).then((j) => alive && setJob(j), () => {});
    read();
    const unsubscribe = subscribe((events) => {
      if (events.some((e) => e.job === id || e.kind === "resync")) read();
    });
    return () => {
      alive = false;
      unsubscribe();
    };
  }, [id]);
  return job;
}

function JobProgress({ id, label }) {
  const job = useJob(id);
  if (!job) return html`<span role="status">${t("nodes.jobState", { label, id, state: t("nodes.job.pending") })}</span>`;
  const state = t(`nodes.job.${job.state}`);
  if (job.state === "failed") return html`<span class="error" role="alert">${t("nodes.jobFailed", { label, id, error: job.error })}</span>`;
  return html`<span role="status">${t("nodes.jobState", { label, id, state })}</span>`;
}

function NodeActions({ node, me }) {
  const [job, setJob] = useState(null);
  const [error, setError] = useState(null);
  if (me.role === "user") return null;
  const act = async (work) => {
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(e);
    }
  };
  const sync = () => act(async () => setJob(await session.rpc("node.sync", node.id)));
  const remove = () => {
    if (!confirm(t("nodes.removeConfirm", { name: node.name }))) return;
    act(async () => {
      await session.rpc("node.remove", node.id);
      location.hash = "#/nodes";
    });
  };
  return html`<div class="toolbar">
    <button type="button" onClick=${sync}>${t("nodes.sync")}</button>
    ${me.role === "admin" && html`<button type="button" class="danger" onClick=${remove}>${t("nodes.remove")}</button>`}
    ${job && html`<${JobProgress} key=${job} id=${job} label=${t("nodes.sync")} />`}
    <${Fault} error=${error} />
  </div>`;
}

function NodeStatistics({ id }) {
  const [span, setSpan] = useState(3600);
  return html`<section aria-labelledby="node-stats">
    <h2 id="node-stats">${t("nodes.statistics")}</h2>
    <div class="toolbar" role="group" aria-label=${t("nodes.window")}>
      ${WINDOWS.map(([name, seconds]) => html`<button type="button" aria-pressed=${span === seconds}
        onClick=${() => setSpan(seconds)}>${t(`nodes.window.${name}`)}</button>`)}
    </div>
    <${NodeGraphs} key=${span} node=${id} seconds=${span} height=${160} />
  </section>`;
}

function NodeVms({ id }) {
  const { data: vms, error } = useLive(() => session.rpc("vm.list", { node: id }), (e) => e.target_kind === "vm", [id]);
  const columns = [
    { key: "name", label: t("nodes.vmName"), render: (vm) => html`<a href=${`#/vms/${vm.id}`}>${vm.name}</a>` },
    { key: "state", label: t("nodes.vmState"), render: (vm) => html`<span class=${`state-${vm.state}`}>${t(`state.${vm.state}`)}</span>` },
    { key: "memory_kb", label: t("nodes.vmMemory"), render: (vm) => kib(vm.memory_kb) },
    { key: "vcpus", label: t("nodes.vmVcpus") },
    { key: "os", label: t("nodes.vmOs") },
  ];
  return html`<section aria-labelledby="node-vms">
    <h2 id="node-vms">${t("nodes.vmsTitle")}</h2>
    ${vms ? html`<${Fault} error=${error} /><${Table} caption=${t("nodes.vmsCaption")} columns=${columns} rows=${vms} empty=${t("nodes.noVms")} />`
      : html`<${Loading} error=${error} />`}
  </section>`;
}

const touchesStorage = (e) => e.target_kind === "pool" || e.target_kind === "volume" || e.kind.startsWith("storage.");

async function poolsWithVolumes(node) {
  const pools = await session.rpc("storage.list", { node });
  const volumes = await Promise.all(pools.map((pool) => session.rpc("storage.volumes", pool.id)));
  return pools.map((pool, i) => ({ ...pool, volumes: volumes[i] }));
}

function NodePools({ id }) {
  const { data: pools, error } = useLive(() => poolsWithVolumes(id), touchesStorage, [id]);
  const columns = [
    { key: "name", label: t("nodes.poolName") },
    { key: "kind", label: t("nodes.poolKind") },
    { key: "path", label: t("nodes.poolPath") },
    { key: "capacity_kb", label: t("nodes.capacity"), render: (p) => kib(p.capacity_kb) },
    { key: "allocation_kb", label: t("nodes.allocation"), render: (p) => kib(p.allocation_kb) },
  ];
  return html`<section aria-labelledby="node-pools">
    <h2 id="node-pools">${t("nodes.poolsTitle")}</h2>
    ${pools ? html`<${Fault} error=${error} />
      <${Table} caption=${t("nodes.poolsCaption")} columns=${columns} rows=${pools} empty=${t("nodes.noPools")} />
      ${pools.map((pool) => html`<${PoolVolumes} key=${pool.id} pool=${pool} />`)}`
      : html`<${Loading} error=${error} />`}
  </section>`;
}

function PoolVolumes({ pool }) {
  const columns = [
    { key: "name", label: t("nodes.volumeName") },
    { key: "path", label: t("nodes.volumePath") },
    { key: "capacity_kb", label: t("nodes.capacity"), render: (v) => kib(v.capacity_kb) },
    { key: "allocation_kb", label: t("nodes.allocation"), render: (v) => kib(v.allocation_kb) },
    { key: "state", label: t("nodes.volumeState"), render: (v) => t(`nodes.volume.${v.state}`) },
  ];
  return html`<h3>${t("nodes.volumesOf", { pool: pool.name })}</h3>
    <${Table} caption=${t("nodes.volumesCaption", { pool: pool.name })} columns=${columns} rows=${pool.volumes} empty=${t("nodes.noVolumes")} />`;
}
