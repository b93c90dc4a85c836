// views/vm-create.js: Create New: vm.create with name, type, node, memory, vCPUs, OS,
// interfaces and disks, checked against the per-VM limits and the user's quota before it
// is sent; then the create job is followed, and once it succeeded the new VM's page opens.
import { html, useEffect, useState } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Field, Loading, Table, kib, options, useAction, useJob, useLive } from "../ui.js";

const MIB = 1024;
const ENDED = ["succeeded", "failed", "cancelled"];
const BLANK = { name: "", type: "HVM", node: "", memory: "256", maxMemory: "", vcpus: "1", os: "", vifs: [], disks: [] };
let nextRow = 1;

/** Nodes, pools, the global limits, the user's quota and what their VMs use now. */
async function loadContext(me) {
  const [nodes, pools, config, quota, vms] = await Promise.all(
    [["node.list"], ["storage.list"], ["config.get"], ["user.getQuota", me.id], ["vm.list"]].map((call) => rpc(...call)),
  );
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
  const rule = (when, field, message) => when && out.push([field, message]);
  rule(!form.name.trim(), "required", t("create.rule.name"));
  rule(!form.node, "required", t("create.rule.node"));
  rule(!(memory_kb >= MIB), "memory", t("create.rule.memory"));
  rule(!(vcpus >= 1) || !Number.isInteger(vcpus), "vcpus", t("create.rule.vcpus"));
  rule(max_memory_kb < memory_kb, "maxMemory", t("create.rule.maxBelow"));
  rule(max_memory_kb > limits.memory_kb, form.maxMemory === "" ? "memory" : "maxMemory",
    t("create.rule.overLimitMemory", { memory: kib(max_memory_kb), limit: kib(limits.memory_kb) }));
  rule(vcpus > limits.vcpus, "vcpus", t("create.rule.overLimitVcpus", { vcpus, limit: limits.vcpus }));
  rule(quota.memory_kb !== undefined && memory_kb > quota.memory_kb - used.memory_kb, "memory",
    t("create.rule.overQuotaMemory", { memory: kib(memory_kb), left: kib(Math.max(0, quota.memory_kb - used.memory_kb)) }));
  rule(quota.vcpus !== undefined && vcpus > quota.vcpus - used.vcpus, "vcpus",
    t("create.rule.overQuotaVcpus", { vcpus, left: Math.max(0, quota.vcpus - used.vcpus) }));
  rule(quota.vms !== undefined && used.vms + 1 > quota.vms, "name",
    t("create.rule.overQuotaVms", { quota: quota.vms, used: used.vms }));
  form.vifs.forEach((vif, i) => rule(!vif.bridge.trim(), "vifs", t("create.rule.bridge", { n: i + 1 })));
  form.disks.forEach((disk, i) => rule(!disk.target.trim() || !disk.pool || !disk.volume, "disks", t("create.rule.disk", { n: i + 1 })));
  return out;
}

/** The vm.create struct of the form. */
function payload(form) {
  const vm = { name: form.name.trim(), type: form.type, node: Number(form.node), ...sizes(form) };
  if (form.os.trim()) vm.os = form.os.trim();
  if (form.vifs.length) {
    vm.vifs = form.vifs.map((v) => (v.model.trim() ? { bridge: v.bridge.trim(), model: v.model.trim() } : { bridge: v.bridge.trim() }));
  }
  if (form.disks.length) vm.disks = form.disks.map((d) => ({ target: d.target.trim(), pool: Number(d.pool), volume: d.volume }));
  return vm;
}

export default function VmCreate({ me }) {
  const context = useLive(() => loadContext(me));
  const [form, setForm] = useState(BLANK);
  const action = useAction();
  const [job, setJob] = useState(null);
  const { data: read } = useJob(job?.id);
  const record = read?.id === job?.id ? read : null; // not an earlier job's
  useEffect(() => {
    if (record?.state === "succeeded") location.hash = `#/vms/${record.target}`;
  }, [record?.state]);
  const data = context.data;
  if (!data) return html`<h1>${t("create.title")}</h1><${Loading} error=${context.error} />`;
  const chosen = { ...form, node: form.node || String(data.nodes[0]?.id ?? "") };
  const set = (changes) => setForm((f) => ({ ...f, node: f.node || chosen.node, ...changes }));
  const issues = problems(chosen, data);
  const busy = action.busy || (job && !ENDED.includes(record?.state ?? "pending"));
  const submit = async (event) => {
    event.preventDefault();
    if (issues.length || busy) return;
    // A refusal (fault 6: over the quota) may come from limits changed meanwhile: read them again.
    if (!(await action.run(async () => setJob({ id: await rpc("vm.create", payload(chosen)), name: chosen.name.trim() })))) context.reload();
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
      <${Fault} error=${action.error} />
    </div>
    ${job && html`<${JobProgress} job=${{ ...job, state: "pending", ...record }} />`}`;
}

const NUMBER = { type: "number", min: 1, step: 1 };

/** The scalar fields, each with its rule and what breaks it. */
function Fields({ form, set, data, issues }) {
  const { limits, quota, used } = data;
  // The field `name` (an input, or a select of `choices`), labelled by the string create.<name>.
  const field = (name, hint, props, choices) => html`<${Field} id=${`create-${name}`} label=${t(`create.${name}`)} hint=${hint}
    error=${issues.filter(([f]) => f === name).map(([, text]) => text).join(" ")} value=${form[name]}
    onInput=${(e) => set({ [name]: e.target.value })} ...${props}>${choices && options(choices)}<//>`;
  const rules = (key, format) => [t("create.limit", { limit: format(limits[key]) }), quota[key] !== undefined
    && t("create.quota", { quota: format(quota[key]), used: format(used[key]), left: format(Math.max(0, quota[key] - used[key])) })].filter(Boolean).join(" ");
  const unlimited = quota.memory_kb === undefined && quota.vcpus === undefined && quota.vms === undefined;
  return html`
    ${field("name", unlimited
      ? t("create.usage", { memory: kib(used.memory_kb), vcpus: used.vcpus, vms: used.vms })
      : quota.vms !== undefined && t("create.quotaVms", { quota: quota.vms, used: used.vms }), { required: true, autocomplete: "off" })}
    ${field("type", null, {}, ["HVM", "PV"])}
    ${field("node", data.nodes.length === 0 && t("create.noNodes"), { onInput: (e) => set({ node: e.target.value, disks: [] }) },
      data.nodes.map((n) => [String(n.id), n.name]))}
    ${field("memory", rules("memory_kb", kib), { ...NUMBER, required: true })}
    ${field("maxMemory", t("create.maxMemoryHint"), NUMBER)}
    ${field("vcpus", rules("vcpus", String), { ...NUMBER, required: true })}
    ${field("os", t("create.osHint"))}`;
}

/** Replace row `i` of the list `key` with its `changes`. */
const editRow = (form, set, key, i, changes) => set({ [key]: form[key].map((row, j) => (j === i ? { ...row, ...changes } : row)) });
/** The rows of the list `key`, each with its index, and the column that removes one. */
const rowsOf = (form, key) => form[key].map((row, i) => ({ ...row, index: i }));
const removeColumn = (form, set, key, label) => ({
  key: "remove", label: "", sortable: false,
  render: (r) => html`<button type="button" onClick=${() => set({ [key]: form[key].filter((_, j) => j !== r.index) })}>${t(label, { n: r.index + 1 })}</button>`,
});
const errorsOf = (issues, field) => issues.filter(([f]) => f === field).map(([, text]) => html`<p class="error">${text}</p>`);

function Vifs({ form, set, issues }) {
  const field = (name, label, row) => html`<input form="vm-create" aria-label=${t(label, { n: row.index + 1 })} value=${row[name]}
    onInput=${(e) => editRow(form, set, "vifs", row.index, { [name]: e.target.value })} />`;
  return html`<section aria-labelledby="create-vifs">
    <h2 id="create-vifs">${t("vm.config.vifs")}</h2>
    ${form.vifs.length > 0 && html`<${Table} caption=${t("vm.config.vifsCaption")} rows=${rowsOf(form, "vifs")} rowKey=${(r) => r.key} columns=${[
      { key: "bridge", label: t("vm.config.bridge"), sortable: false, render: (r) => field("bridge", "create.bridgeOf", r) },
      { key: "model", label: t("vm.config.model"), sortable: false, render: (r) => field("model", "create.modelOf", r) },
      removeColumn(form, set, "vifs", "create.removeVif"),
    ]} />`}
    ${errorsOf(issues, "vifs")}
    <button type="button" onClick=${() => set({ vifs: [...form.vifs, { key: nextRow++, bridge: "xenbr0", model: "" }] })}>${t("create.addVif")}</button>
  </section>`;
}

function Disks({ form, set, pools, issues }) {
  const edit = (row, changes) => editRow(form, set, "disks", row.index, changes);
  const add = () => set({ disks: [...form.disks, { key: nextRow++, target: `xvd${"abcdefghijklmnopqrstuvwxyz"[form.disks.length % 26]}`, pool: String(pools[0]?.id ?? ""), volume: "" }] });
  return html`<section aria-labelledby="create-disks">
    <h2 id="create-disks">${t("vm.config.disks")}</h2>
    ${pools.length === 0 && html`<p class="muted">${t("create.noPools")}</p>`}
    ${form.disks.length > 0 && html`<${Table} caption=${t("create.disksCaption")} rows=${rowsOf(form, "disks")} rowKey=${(r) => r.key} columns=${[
      { key: "target", label: t("create.target"), sortable: false, render: (r) => html`<input form="vm-create" aria-label=${t("create.targetOf", { n: r.index + 1 })} value=${r.target} onInput=${(e) => edit(r, { target: e.target.value })} />` },
      { key: "pool", label: t("create.pool"), sortable: false, render: (r) => html`<select aria-label=${t("create.poolOf", { n: r.index + 1 })} value=${r.pool} onChange=${(e) => edit(r, { pool: e.target.value, volume: "" })}>
          ${options([["", t("create.choose")], ...pools.map((p) => [String(p.id), p.name])])}
        </select>` },
      { key: "volume", label: t("vm.config.volume"), sortable: false, render: (r) => html`<${VolumeSelect} row=${r} onChange=${(volume) => edit(r, { volume })} />` },
      removeColumn(form, set, "disks", "create.removeDisk"),
    ]} />`}
    ${errorsOf(issues, "disks")}
    <button type="button" disabled=${pools.length === 0} onClick=${add}>${t("create.addDisk")}</button>
  </section>`;
}

/** The present volumes of the disk's pool, read when the pool is chosen. */
function VolumeSelect({ row, onChange }) {
  const { data: volumes, error } = useLive(() => (row.pool ? rpc("storage.volumes", Number(row.pool)) : Promise.resolve([])), undefined, [row.pool]);
  if (error) return html`<${Fault} error=${error} />`;
  if (!volumes) return html`<span class="muted">${t("loading")}</span>`;
  const present = volumes.filter((v) => v.state === "present");
  if (row.pool && present.length === 0) return html`<span class="muted">${t("create.noVolumes")}</span>`;
  return html`<select aria-label=${t("create.volumeOf", { n: row.index + 1 })} value=${row.volume} onChange=${(e) => onChange(e.target.value)}>
    ${options([["", t("create.choose")], ...present.map((v) => [v.name, `${v.name} (${kib(v.capacity_kb)})`])])}
  </select>`;
}

function JobProgress({ job }) {
  return html`<p role="status">${t("create.job", { name: job.name, job: job.id, state: t(`vm.job.${job.state}`) })}</p>
    ${job.state === "failed" && html`<p class="error" role="alert">${t("create.failed", { job: job.id, error: job.error ?? "" })}</p>`}`;
}
