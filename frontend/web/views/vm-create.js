// views/vm-create.js: Create New, provisioning a VM with vm.create: name, type, node,
// memory, vCPUs, OS, network interfaces and disks (volumes of the node's storage pools).
// The global per-VM limits and the user's quota and usage show next to the fields and
// are checked before sending; the server's refusal is shown as it comes. Once sent, the
// create job is followed until it succeeds, and then the new VM's page opens.
import { html, useEffect, useState } from "../html.js";
import { t } from "../i18n.js";
import { subscribe } from "../live.js";
import { session } from "../rpc.js";
import { Fault, Loading, Table, kib } from "../ui.js";

const MIB = 1024;
const ENDED = ["succeeded", "failed", "cancelled"];
const BLANK = { name: "", type: "HVM", node: "", memory: "256", maxMemory: "", vcpus: "1", os: "", vifs: [], disks: [] };
let nextRow = 1;

/** Nodes, pools, the global limits, the user's quota and what their VMs use now. */
async function loadContext(me) {
  const [nodes, pools, config, quota, vms] = await Promise.all([
    session.rpc("node.list"),
    session.rpc("storage.list"),
    session.rpc("config.get"),
    session.rpc("user.getQuota", me.id),
    session.rpc("vm.list"),
  ]);
  const mine = vms.filter((vm) => vm.owner === me.id);
  const sum = (key) => mine.reduce((total, vm) => total + Number(vm[key] ?? 0), 0);
  return {
    nodes,
    pools,
    quota,
    limits: { memory_kb: config.vm_max_memory_kb, vcpus: config.vm_max_vcpus },
    used: { vms: mine.length, memory_kb: sum("memory_kb"), vcpus: sum("vcpus") },
  };
}

/** The sizes the form asks for, in the API's units. */
function sizes(form) {
  const memory_kb = Math.round(Number(form.memory) * MIB);
  const max_memory_kb = form.maxMemory === "" ? memory_kb : Math.round(Number(form.maxMemory) * MIB);
  return { memory_kb, max_memory_kb, vcpus: Number(form.vcpus) };
}

/** What stops the form from being sent: [field, message] pairs. */
function problems(form, { limits, quota, used }) {
  const { memory_kb, max_memory_kb, vcpus } = sizes(form);
  const out = [];
  if (!form.name.trim()) out.push(["required", t("create.rule.name")]);
  if (!form.node) out.push(["required", t("create.rule.node")]);
  if (!(memory_kb >= MIB)) out.push(["memory", t("create.rule.memory")]);
  if (!(vcpus >= 1) || !Number.isInteger(vcpus)) out.push(["vcpus", t("create.rule.vcpus")]);
  if (max_memory_kb < memory_kb) out.push(["maxMemory", t("create.rule.maxBelow")]);
  if (max_memory_kb > limits.memory_kb) {
    out.push([form.maxMemory === "" ? "memory" : "maxMemory", t("create.rule.overLimitMemory", { memory: kib(max_memory_kb), limit: kib(limits.memory_kb) })]);
  }
  if (vcpus > limits.vcpus) out.push(["vcpus", t("create.rule.overLimitVcpus", { vcpus, limit: limits.vcpus })]);
  if (quota.memory_kb !== undefined && memory_kb > quota.memory_kb - used.memory_kb) {
    out.push(["memory", t("create.rule.overQuotaMemory", { memory: kib(memory_kb), left: kib(Math.max(0, quota.memory_kb - used.memory_kb)) })]);
  }
  if (quota.vcpus !== undefined && vcpus > quota.vcpus - used.vcpus) {
    out.push(["vcpus", t("create.rule.overQuotaVcpus", { vcpus, left: Math.max(0, quota.vcpus - used.vcpus) })]);
  }
  if (quota.vms !== undefined && used.vms + 1 > quota.vms) {
    out.push(["name", t("create.rule.overQuotaVms", { quota: quota.vms, used: used.vms })]);
  }
  form.vifs.forEach((vif, i) => !vif.bridge.trim() && out.push(["vifs", t("create.rule.bridge", { n: i + 1 })]));
  form.disks.forEach((disk, i) => (!disk.target.trim() || !disk.pool || !disk.volume) && out.push(["disks", t("create.rule.disk", { n: i + 1 })]));
  return out;
}

/** The vm.create struct of the form. */
function payload(form) {
  const { memory_kb, max_memory_kb, vcpus } = sizes(form);
  const vm = { name: form.name.trim(), type: form.type, node: Number(form.node), memory_kb, max_memory_kb, vcpus };
  if (form.os.trim()) vm.os = form.os.trim();
  if (form.vifs.length) {
    vm.vifs = form.vifs.map((v) => (v.model.trim() ? { bridge: v.bridge.trim(), model: v.model.trim() } : { bridge: v.bridge.trim() }));
  }
  if (form.disks.length) vm.disks = form.disks.map((d) => ({ target: d.target.trim(), pool: Number(d.pool), volume: d.volume }));
  return vm;
}

export default function VmCreate({ me }) {
  const [context, setContext] = useState({ data: null, error: null });
  const [form, setForm] = useState(BLANK);
  const [fault, setFault] = useState(null);
  const [sending, setSending] = useState(false);
  const [job, setJob] = useState(null);
  const reload = () =>
    loadContext(me).then((data) => setContext({ data, error: null }), (error) => setContext((c) => ({ data: c.data, error })));
  useEffect(() => {
    reload();
  }, []);
  useCreateJob(job, setJob);
  const data = context.data;
  if (!data) return html`<h1>${t("create.title")}</h1><${Loading} error=${context.error} />`;
  const chosen = { ...form, node: form.node || String(data.nodes[0]?.id ?? "") };
  const set = (changes) => setForm((f) => ({ ...f, node: f.node || chosen.node, ...changes }));
  const issues = problems(chosen, data);
  const busy = sending || (job && !ENDED.includes(job.state));
  const submit = async (event) => {
    event.preventDefault();
    if (issues.length || busy) return;
    setFault(null);
    setSending(true);
    try {
      const id = await session.rpc("vm.create", payload(chosen));
      setJob({ id, name: chosen.name.trim(), state: "pending" });
    } catch (e) {
      setFault(e);
      if (e.code === 6) reload();
    } finally {
      setSending(false);
    }
  };
  return html`
    <h1>${t("create.title")}</h1>
    <p><a href="#/vms">${t("create.back")}</a></p>
    <${Fault} error=${context.error} />
    <form id="vm-create" class="grid" aria-label=${t("create.title")} onSubmit=${submit}>
      <${Fields} form=${chosen} set=${set} data=${data} issues=${issues} />
    </form>
    <${Vifs} form=${chosen} set=${set} issues=${issues} />
    <${Disks} form=${chosen} set=${set} pools=${data.pools.filter((p) => String(p.node) === chosen.node)} issues=${issues} />
    <div class="toolbar">
      <button type="submit" form="vm-create" class="primary" disabled=${issues.length > 0 || busy}
        aria-describedby="create-why">${t("create.submit")}</button>
    </div>
    <div id="create-why">
      ${issues.length > 0 && html`<p class="error">${t("create.cannot")} ${issues.map(([, text]) => text).join(" ")}</p>`}
      <${Fault} error=${fault} />
    </div>
    ${job && html`<${JobProgress} job=${job} />`}`;
}

/** The scalar fields, each with its rule and what breaks it. */
function Fields({ form, set, data, issues }) {
  const { limits, quota, used } = data;
  const broken = (field) => {
    const texts = issues.filter(([f]) => f === field).map(([, text]) => text);
    return texts.length > 0 && html`<p class="hint" id=${`create-${field}-error`}><span class="error">${texts.join(" ")}</span></p>`;
  };
  const describedBy = (field, hint) => [hint && `create-${field}-hint`, issues.some(([f]) => f === field) && `create-${field}-error`].filter(Boolean).join(" ") || undefined;
  const input = (field, props = {}) => html`<input id=${`create-${field}`} value=${form[field]} aria-describedby=${describedBy(field, props.hint)}
    aria-invalid=${issues.some(([f]) => f === field) ? "true" : undefined}
    onInput=${(e) => set({ [field]: e.target.value })} ...${{ ...props, hint: undefined }} />`;
  const hint = (field, text) => html`<p class="hint" id=${`create-${field}-hint`}>${text}</p>`;
  const quotaText = (key, format) => quota[key] === undefined ? null
    : t(`create.quota${key === "memory_kb" ? "Memory" : "Vcpus"}`, { quota: format(quota[key]), used: format(used[key]), left: format(Math.max(0, quota[key] - used[key])) });
  const memoryRules = [t("create.limitMemory", { limit: kib(limits.memory_kb) }), quotaText("memory_kb", kib)].filter(Boolean).join(" ");
  const vcpuRules = [t("create.limitVcpus", { limit: limits.vcpus }), quotaText("vcpus", String)].filter(Boolean).join(" ");
  const unlimited = quota.memory_kb === undefined && quota.vcpus === undefined && quota.vms === undefined;
  return html`
    <label for="create-name">${t("create.name")}</label>
    ${input("name", { required: true, autocomplete: "off", hint: true })}
    ${hint("name", unlimited
      ? t("create.usage", { memory: kib(used.memory_kb), vcpus: used.vcpus, vms: used.vms })
      : quota.vms !== undefined ? t("create.quotaVms", { quota: quota.vms, used: used.vms }) : "")}
    ${broken("name")}
    <label for="create-type">${t("create.type")}</label>
    <select id="create-type" value=${form.type} onChange=${(e) => set({ type: e.target.value })}>
      <option value="HVM">HVM</option>
      <option value="PV">PV</option>
    </select>
    <label for="create-node">${t("create.node")}</label>
    <select id="create-node" value=${form.node} onChange=${(e) => set({ node: e.target.value, disks: [] })}>
      ${data.nodes.map((n) => html`<option value=${String(n.id)}>${n.name}</option>`)}
    </select>
    ${data.nodes.length === 0 && hint("node", t("create.noNodes"))}
    ${broken("node")}
    <label for="create-memory">${t("create.memory")}</label>
    ${input("memory", { type: "number", min: 1, step: 1, required: true, hint: true })}
    ${hint("memory", memoryRules)}
    ${broken("memory")}
    <label for="create-maxMemory">${t("create.maxMemory")}</label>
    ${input("maxMemory", { type: "number", min: 1, step: 1, hint: true })}
    ${hint("maxMemory", t("create.maxMemoryHint"))}
    ${broken("maxMemory")}
    <label for="create-vcpus">${t("create.vcpus")}</label>
    ${input("vcpus", { type: "number", min: 1, step: 1, required: true, hint: true })}
    ${hint("vcpus", vcpuRules)}
    ${broken("vcpus")}
    <label for="create-os">${t("create.os")}</label>
    ${input("os", { hint: true })}
    ${hint("os", t("create.osHint"))}`;
}

/** Replace row `i` of the list `key` with its `changes`. */
const editRow = (form, set, key, i, changes) => set({ [key]: form[key].map((row, j) => (j === i ? { ...row, ...changes } : row)) });
const dropRow = (form, set, key, i) => set({ [key]: form[key].filter((_, j) => j !== i) });
const rowsOf = (form, key) => form[key].map((row, i) => ({ ...row, index: i }));

function Vifs({ form, set, issues }) {
  const field = (name, label, row) => html`<input form="vm-create" aria-label=${t(label, { n: row.index + 1 })} value=${row[name]}
    onInput=${(e) => editRow(form, set, "vifs", row.index, { [name]: e.target.value })} />`;
  return html`<section aria-labelledby="create-vifs">
    <h2 id="create-vifs">${t("create.vifs")}</h2>
    ${form.vifs.length > 0 && html`<${Table} caption=${t("create.vifsCaption")} rows=${rowsOf(form, "vifs")} rowKey=${(r) => r.key} columns=${[
      { key: "bridge", label: t("create.bridge"), sortable: false, render: (r) => field("bridge", "create.bridgeOf", r) },
      { key: "model", label: t("create.model"), sortable: false, render: (r) => field("model", "create.modelOf", r) },
      { key: "remove", label: "", sortable: false, render: (r) => html`<button type="button" onClick=${() => dropRow(form, set, "vifs", r.index)}>${t("create.removeVif", { n: r.index + 1 })}</button>` },
    ]} />`}
    ${issues.filter(([f]) => f === "vifs").map(([, text]) => html`<p class="error">${text}</p>`)}
    <button type="button" onClick=${() => set({ vifs: [...form.vifs, { key: nextRow++, bridge: "xenbr0", model: "" }] })}>${t("create.addVif")}</button>
  </section>`;
}

function Disks({ form, set, pools, issues }) {
  const edit = (row, changes) => editRow(form, set, "disks", row.index, changes);
  return html`<section aria-labelledby="create-disks">
    <h2 id="create-disks">${t("create.disks")}</h2>
    ${pools.length === 0 && html`<p class="muted">${t("create.noPools")}</p>`}
    ${form.disks.length > 0 && html`<${Table} caption=${t("create.disksCaption")} rows=${rowsOf(form, "disks")} rowKey=${(r) => r.key} columns=${[
      { key: "target", label: t("create.target"), sortable: false, render: (r) => html`<input form="vm-create" aria-label=${t("create.targetOf", { n: r.index + 1 })} value=${r.target} onInput=${(e) => edit(r, { target: e.target.value })} />` },
      { key: "pool", label: t("create.pool"), sortable: false, render: (r) => html`<select aria-label=${t("create.poolOf", { n: r.index + 1 })} value=${r.pool} onChange=${(e) => edit(r, { pool: e.target.value, volume: "" })}>
          <option value="">${t("create.choose")}</option>
          ${pools.map((p) => html`<option value=${String(p.id)}>${p.name}</option>`)}
        </select>` },
      { key: "volume", label: t("create.volume"), sortable: false, render: (r) => html`<${VolumeSelect} row=${r} onChange=${(volume) => edit(r, { volume })} />` },
      { key: "remove", label: "", sortable: false, render: (r) => html`<button type="button" onClick=${() => dropRow(form, set, "disks", r.index)}>${t("create.removeDisk", { n: r.index + 1 })}</button>` },
    ]} />`}
    ${issues.filter(([f]) => f === "disks").map(([, text]) => html`<p class="error">${text}</p>`)}
    <button type="button" disabled=${pools.length === 0}
      onClick=${() => set({ disks: [...form.disks, { key: nextRow++, target: `xvd${"abcdefghijklmnopqrstuvwxyz"[form.disks.length % 26]}`, pool: String(pools[0]?.id ?? ""), volume: "" }] })}>${t("create.addDisk")}</button>
  </section>`;
}

/** The present volumes of the disk's pool, read when the pool is chosen. */
function VolumeSelect({ row, onChange }) {
  const [volumes, setVolumes] = useState({ list: null, error: null });
  useEffect(() => {
    if (!row.pool) return setVolumes({ list: [], error: null });
    let alive = true;
    session.rpc("storage.volumes", Number(row.pool)).then(
      (list) => alive && setVolumes({ list: list.filter((v) => v.state === "present"), error: null }),
      (error) => alive && setVolumes({ list: [], error }),
    );
    return () => (alive = false);
  }, [row.pool]);
  if (!volumes.list) return html`<span class="muted">${t("loading")}</span>`;
  if (volumes.error) return html`<${Fault} error=${volumes.error} />`;
  if (row.pool && volumes.list.length === 0) return html`<span class="muted">${t("create.noVolumes")}</span>`;
  return html`<select aria-label=${t("create.volumeOf", { n: row.index + 1 })} value=${row.volume} onChange=${(e) => onChange(e.target.value)}>
    <option value="">${t("create.choose")}</option>
    ${volumes.list.map((v) => html`<option value=${v.name}>${v.name} (${kib(v.capacity_kb)})</option>`)}
  </select>`;
}

/**
 * Follow the create job through its job.* events (and one job.get now, in case it moved
 * before they were watched); once it succeeded, open the new VM's page.
 */
function useCreateJob(job, setJob) {
  const id = job?.id;
  useEffect(() => {
    if (id === undefined) return undefined;
    let alive = true;
    const refresh = () =>
      session.rpc("job.get", id).then((record) => {
        if (!alive) return;
        setJob((j) => ({ ...j, state: record.state, error: record.error, target: record.target }));
        if (record.state === "succeeded") location.hash = `#/vms/${record.target}`;
      }, () => {});
    refresh();
    const unsubscribe = subscribe((events) => {
      if (events.some((e) => e.job !== undefined && Number(e.job) === id)) refresh();
    });
    return () => {
      alive = false;
      unsubscribe();
    };
  }, [id]);
}

function JobProgress({ job }) {
  const state = t(`create.jobState.${job.state}`);
  return html`<p role="status">${t("create.job", { name: job.name, job: job.id, state })}</p>
    ${job.state === "failed" && html`<p class="error" role="alert">${t("create.failed", { job: job.id, error: job.error ?? "" })}</p>`}`;
}
