// views/home.js: the status dashboard: VMs by state, nodes with small graphs of their last
// hour (staff, who may read node statistics), the user's usage against their quota, and
// recent errors (failed jobs, unreachable or silent nodes). Counts follow the event stream.
import { html } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Loading, Section, Table, kib, useLive, when } from "../ui.js";
import { NodeGraphs, NodeState } from "./node.js";

const STATE_GROUPS = { running: ["running", "idle"], paused: ["paused"], stopped: ["stopped", "crashed", "unknown"] };

const sum = (rows, key) => rows.reduce((total, row) => total + Number(row[key] ?? 0), 0);

export default function Home({ me }) {
  const { data, error } = useLive(
    async () => {
      const [vms, nodes, quota, failed] = await Promise.all([
        rpc("vm.list"), rpc("node.list"), rpc("user.getQuota", me.id), rpc("job.list", { state: "failed", limit: 10 }),
      ]);
      return { vms, nodes, quota, failed };
    },
    (e) => e.target_kind === "vm" || e.target_kind === "node" || e.kind.startsWith("job.") || e.kind.startsWith("user."),
  );
  if (!data) return html`<${Loading} error=${error} />`;
  const { vms, nodes, quota, failed } = data;
  const mine = vms.filter((vm) => vm.owner === me.id);
  const troubled = nodes.filter((n) => !n.reachable || n.silent);
  const limit = (value, format = String) => (value === undefined || value === null ? t("users.unlimited") : format(value));
  const card = (key, href, figure, label) => html`<a class="card" href=${href} data-count=${key}><span class="figure">${figure}</span> <span>${label}</span></a>`;
  return html`
    <h1>${t("home.title")}</h1>
    <section aria-labelledby="home-vms" class="cards">
      <h2 id="home-vms" class="sr-only">${t("home.vms")}</h2>
      ${Object.entries(STATE_GROUPS).map(([group, states]) =>
        card(group, `#/vms?state=${group}`, vms.filter((vm) => states.includes(vm.state)).length, t(`vms.group.${group}`)))}
      ${card("nodes", "#/nodes", nodes.length, t("home.nodes"))}
    </section>
    <${Section} id="home-quota" title=${t("home.usage")}>
      <${Table} caption=${t("home.usageCaption")} rowKey=${(r) => r.what} columns=${[
        { key: "what", label: t("home.resource") },
        { key: "used", label: t("home.used") },
        { key: "limit", label: t("users.quota") },
      ]} rows=${[
        { what: t("users.quotaVms"), used: mine.length, limit: limit(quota.vms) },
        { what: t("users.quotaMemoryShown"), used: kib(sum(mine, "memory_kb")), limit: limit(quota.memory_kb, kib) },
        { what: t("users.quotaVcpus"), used: sum(mine, "vcpus"), limit: limit(quota.vcpus) },
      ]} />
    <//>
    <${Section} id="home-nodes" title=${t("home.nodes")}>
      <div class="node-cards">
        ${nodes.map((node) => html`<article key=${node.id} class="node-card" aria-label=${node.name}>
          <h3><a href=${`#/nodes/${node.id}`}>${node.name}</a> <${NodeState} node=${node} brief /></h3>
          <p class="muted">${t("home.nodeVms", { count: node.vm_count })}</p>
          ${me.role !== "user" && html`<${NodeGraphs} node=${node.id} />`}
        </article>`)}
      </div>
    <//>
    <${Section} id="home-errors" title=${t("home.errors")}>
      ${troubled.length === 0 && failed.length === 0
        ? html`<p class="muted">${t("home.noErrors")}</p>`
        : html`<ul class="errors">
            ${troubled.map((n) => html`<li key=${`n${n.id}`}><a href=${`#/nodes/${n.id}`}>${n.name}</a>: ${n.reachable ? t("home.silent") : t("home.unreachable", { status: n.status ?? "" })}</li>`)}
            ${failed.map((job) => html`<li key=${`j${job.id}`}>${t("home.failedJob", { id: job.id, action: job.action })}${job.target_kind === "vm" ? html` (<a href=${`#/vms/${job.target}`}>${t("home.vm", { id: job.target })}</a>)` : ""}: ${job.error} <span class="muted">${when(job.finished)}</span></li>`)}
          </ul>`}
    <//>`;
}
