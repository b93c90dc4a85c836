// views/home.js: the status dashboard. VMs by state, nodes with their CPU and memory
// use (small graphs of the last hour, for operators and admins, who may read node
// statistics), the user's own usage against their quota, and recent errors (failed jobs,
// unreachable or silent nodes) in one place. Counts follow the event stream.
import { html, useEffect, useState } from "../html.js";
import { t } from "../i18n.js";
import { session } from "../rpc.js";
import { Graph, Loading, Table, kib, useLive, when } from "../ui.js";

const STATE_GROUPS = { running: ["running", "idle"], paused: ["paused"], stopped: ["stopped", "crashed", "unknown"] };

export default function Home({ me }) {
  const staff = me.role !== "user";
  const { data, error } = useLive(
    async () => {
      const [vms, nodes, quota, failed] = await Promise.all([
        session.rpc("vm.list"),
        session.rpc("node.list"),
        session.rpc("user.getQuota", me.id),
        session.rpc("job.list", { state: "failed", limit: 10 }),
      ]);
      return { vms, nodes, quota, failed };
    },
    (e) => e.target_kind === "vm" || e.target_kind === "node" || e.kind.startsWith("job.") || e.kind.startsWith("user."),
  );
  if (!data) return html`<${Loading} error=${error} />`;
  const { vms, nodes, quota, failed } = data;
  const count = (group) => vms.filter((vm) => STATE_GROUPS[group].includes(vm.state)).length;
  const mine = vms.filter((vm) => vm.owner === me.id);
  const troubled = nodes.filter((n) => !n.reachable || n.silent);
  return html`
    <h1>${t("home.title")}</h1>
    <section aria-labelledby="home-vms" class="cards">
      <h2 id="home-vms" class="sr-only">${t("home.vms")}</h2>
      ${Object.keys(STATE_GROUPS).map((group) => html`
        <a class="card" href=${`#/vms?state=${group}`} data-count=${group}>
          <span class="figure">${count(group)}</span> <span>${t(`home.${group}`)}</span>
        </a>`)}
      <a class="card" href="#/nodes" data-count="nodes"><span class="figure">${nodes.length}</span> <span>${t("home.nodes")}</span></a>
    </section>
    <section aria-labelledby="home-quota">
      <h2 id="home-quota">${t("home.usage")}</h2>
      <${Table} caption=${t("home.usageCaption")} rowKey=${(r) => r.what} columns=${[
        { key: "what", label: t("home.resource") },
        { key: "used", label: t("home.used") },
        { key: "limit", label: t("home.quota") },
      ]} rows=${[
        { what: t("home.quotaVms"), used: mine.length, limit: quota.vms ?? t("home.unlimited") },
        { what: t("home.quotaMemory"), used: kib(sum(mine, "memory_kb")), limit: quota.memory_kb !== undefined ? kib(quota.memory_kb) : t("home.unlimited") },
        { what: t("home.quotaVcpus"), used: sum(mine, "vcpus"), limit: quota.vcpus ?? t("home.unlimited") },
      ]} />
    </section>
    <section aria-labelledby="home-nodes">
      <h2 id="home-nodes">${t("home.nodes")}</h2>
      <div class="node-cards">
        ${nodes.map((node) => html`<${NodeCard} key=${node.id} node=${node} graphs=${staff} />`)}
      </div>
    </section>
    <section aria-labelledby="home-errors">
      <h2 id="home-errors">${t("home.errors")}</h2>
      ${troubled.length === 0 && failed.length === 0
        ? html`<p class="muted">${t("home.noErrors")}</p>`
        : html`<ul class="errors">
            ${troubled.map((n) => html`<li key=${`n${n.id}`}><a href=${`#/nodes/${n.id}`}>${n.name}</a>: ${n.reachable ? t("home.silent") : t("home.unreachable", { status: n.status ?? "" })}</li>`)}
            ${failed.map((job) => html`<li key=${`j${job.id}`}>${t("home.failedJob", { id: job.id, action: job.action })}${job.target_kind === "vm" ? html` (<a href=${`#/vms/${job.target}`}>${t("home.vm", { id: job.target })}</a>)` : ""}: ${job.error} <span class="muted">${when(job.finished)}</span></li>`)}
          </ul>`}
    </section>`;
}

const sum = (rows, key) => rows.reduce((total, row) => total + Number(row[key] ?? 0), 0);

/** A node's name, state and, for staff, small graphs of its last hour. */
function NodeCard({ node, graphs }) {
  const state = !node.reachable ? t("nodes.unreachable") : node.silent ? t("nodes.silent") : t("nodes.reachable");
  return html`<article class="node-card" aria-label=${node.name}>
    <h3><a href=${`#/nodes/${node.id}`}>${node.name}</a> <span class=${`badge ${node.reachable && !node.silent ? "ok" : "bad"}`}>${state}</span></h3>
    <p class="muted">${t("home.nodeVms", { count: node.vm_count })}</p>
    ${graphs && html`<${NodeGraphs} node=${node.id} />`}
  </article>`;
}

/** CPU and memory of a node over the last hour, re-read every 10 s. */
export function NodeGraphs({ node, seconds = 3600, height = 100 }) {
  const [series, setSeries] = useState(null);
  useEffect(() => {
    let alive = true;
    const load = async () => {
      const to = new Date();
      const from = new Date(to.getTime() - seconds * 1000);
      const step = Math.max(10, Math.round(seconds / 120));
      const read = (metric) => session.rpc("stats.node", node, metric, from, to, step);
      const [cpu, used] = await Promise.all([read("cpu_pct"), read("mem_used_kb")]);
      if (alive) setSeries({ cpu, used });
    };
    load().catch(() => {});
    const timer = setInterval(() => load().catch(() => {}), 10000);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [node, seconds]);
  if (!series) return null;
  if (series.cpu.length === 0) return html`<p class="muted">${t("home.noSamples")}</p>`;
  return html`<div class="graphs">
    <${Graph} label=${t("graph.nodeCpu")} height=${height} series=${[{ label: "CPU %", points: series.cpu }]} />
    <${Graph} label=${t("graph.nodeMem")} height=${height} series=${[{ label: "MiB", points: series.used.map((p) => ({ at: p.at, avg: p.avg / 1024 })) }]} />
  </div>`;
}
