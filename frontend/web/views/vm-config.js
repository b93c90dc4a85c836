// views/vm-config.js: the VM's Configuration tab. Its sizes as a form (vm.update with
// only what changed, MiB shown, KiB sent) beside the global per-VM limits and the owner's
// quota; its pending changes and, once a change's job ends, whether it applies now or at
// the next boot; its network interfaces and disks, each added or removed by a job.
import { html, useState } from "../html.js";
import { t } from "../i18n.js";
import { session } from "../rpc.js";
import { Fault, Table, kib, useLive } from "../ui.js";
import { useJobAction } from "./vm.js";

const mib = (kb) => Math.round((Number(kb) / 1024) * 100) / 100;
const toKib = (value) => Math.round(Number(value) * 1024);

export default function VmConfig({ vm }) {
  const modify = vm.permissions.includes("modify");
  return html`
    <${Sizes} vm=${vm} modify=${modify} />
    <${Pending} vm=${vm} />
    <${Vifs} vm=${vm} modify=${modify} />
    <${Disks} vm=${vm} modify=${modify} />`;
}

/** The global per-VM limits and the owner's quota (when the caller may read it). */
function useLimits(owner) {
  return useLive(async () => {
    const [config, quota] = await Promise.all([
      session.rpc("config.get"),
      owner === undefined || owner === null ? null : session.rpc("user.getQuota", owner).catch(() => null),
    ]);
    return { memory: config.vm_max_memory_kb, vcpus: config.vm_max_vcpus, quota };
  }, (e) => e.target_kind === "config" || e.kind === "user.setQuota", [owner]);
}

function Sizes({ vm, modify }) {
  const { data: limits } = useLimits(vm.owner);
  const [invalid, setInvalid] = useState("");
  const job = useJobAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const wanted = { memory_kb: toKib(form.get("memory")), max_memory_kb: toKib(form.get("max_memory")), vcpus: Number(form.get("vcpus")) };
    if (wanted.memory_kb > wanted.max_memory_kb) return setInvalid(t("vm.config.memoryOverMax"));
    setInvalid("");
    const changes = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => value !== vm[key]));
    if (Object.keys(changes).length === 0) return setInvalid(t("vm.config.unchanged"));
    job.run(() => session.rpc("vm.update", vm.id, changes));
  };
  const quota = limits?.quota;
  return html`<h2 id="vm-sizes">${t("vm.config.sizes")}</h2>
    <form class="grid" aria-labelledby="vm-sizes" onSubmit=${submit} key=${`${vm.memory_kb}/${vm.max_memory_kb}/${vm.vcpus}`}>
      <label for="vm-memory">${t("vm.config.memory")}</label>
      <input id="vm-memory" name="memory" type="number" min="1" step="any" required disabled=${!modify} defaultValue=${mib(vm.memory_kb)} />
      <label for="vm-max-memory">${t("vm.config.maxMemory")}</label>
      <input id="vm-max-memory" name="max_memory" type="number" min="1" step="any" required disabled=${!modify} defaultValue=${mib(vm.max_memory_kb)} />
      <p class="hint">${limits && t("vm.config.memoryLimit", { limit: kib(limits.memory) })}
        ${quota?.memory_kb !== undefined && ` ${t("vm.config.memoryQuota", { quota: kib(quota.memory_kb) })}`}</p>
      <label for="vm-vcpus">${t("vm.config.vcpus")}</label>
      <input id="vm-vcpus" name="vcpus" type="number" min="1" step="1" required disabled=${!modify} defaultValue=${vm.vcpus} />
      <p class="hint">${limits && t("vm.config.vcpuLimit", { limit: limits.vcpus })}
        ${quota?.vcpus !== undefined && ` ${t("vm.config.vcpuQuota", { quota: quota.vcpus })}`}</p>
      <span></span>
      <div class="toolbar"><button type="submit" class="primary" disabled=${!modify || job.busy}>${t("vm.config.apply")}</button></div>
    </form>
    <p class="error" role="alert">${invalid}</p>
    <div class="toolbar">${job.status}</div>`;
}

/** The VM's jobs not yet finished, as vm.get lists them. */
function Pending({ vm }) {
  return html`<${Table} caption=${t("vm.config.pending")} rows=${vm.pending} rowKey=${(p) => p.job}
    empty=${t("vm.config.noPending")} columns=${[
      { key: "job", label: t("vm.config.job") },
      { key: "action", label: t("vm.config.action") },
      { key: "params", label: t("vm.config.params"), render: (p) => p.params || "–" },
      { key: "state", label: t("vm.config.state"), render: (p) => t(`vm.job.${p.state}`) },
    ]} />`;
}

function Vifs({ vm, modify }) {
  const job = useJobAction();
  const add = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const vif = { bridge: form.get("bridge").trim() || "xenbr0" };
    if (form.get("model").trim()) vif.model = form.get("model").trim();
    if (form.get("mac").trim()) vif.mac = form.get("mac").trim();
    job.run(() => session.rpc("vm.addVif", vm.id, vif));
  };
  const remove = (vif) => job.run(() => session.rpc("vm.removeVif", vm.id, vif.id));
  return html`<h2 id="vm-vifs">${t("vm.config.vifs")}</h2>
    <${Table} caption=${t("vm.config.vifsCaption")} rows=${vm.vifs} empty=${t("vm.config.noVifs")} columns=${[
      { key: "mac", label: t("vm.config.mac") },
      { key: "bridge", label: t("vm.config.bridge") },
      { key: "model", label: t("vm.config.model"), render: (v) => v.model || "–" },
      ...(modify ? [{ key: "actions", label: t("vm.actions"), sortable: false, render: (v) => html`<div class="actions">
        <button type="button" class="danger" disabled=${job.busy} aria-label=${t("vm.config.removeVif", { mac: v.mac })} onClick=${() => remove(v)}>${t("vm.remove")}</button></div>` }] : []),
    ]} />
    ${modify && html`<form class="grid" aria-label=${t("vm.config.addVif")} onSubmit=${add}>
      <label for="vif-bridge">${t("vm.config.bridge")}</label>
      <input id="vif-bridge" name="bridge" defaultValue="xenbr0" />
      <label for="vif-model">${t("vm.config.model")}</label>
      <input id="vif-model" name="model" placeholder=${t("vm.config.optional")} />
      <label for="vif-mac">${t("vm.config.mac")}</label>
      <input id="vif-mac" name="mac" placeholder="00:16:3e:12:34:56" pattern="([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}" />
      <p class="hint">${t("vm.config.macHint")}</p>
      <span></span>
      <div class="toolbar"><button type="submit" disabled=${job.busy}>${t("vm.config.addVif")}</button></div>
    </form>`}
    <div class="toolbar">${job.status}</div>`;
}

function Disks({ vm, modify }) {
  const job = useJobAction();
  const remove = (disk) => job.run(() => session.rpc("vm.removeDisk", vm.id, disk.id));
  return html`<h2 id="vm-disks">${t("vm.config.disks")}</h2>
    <${Table} caption=${t("vm.config.disksCaption")} rows=${vm.disks} empty=${t("vm.config.noDisks")} columns=${[
      { key: "target", label: t("vm.config.target") },
      { key: "source", label: t("vm.config.source") },
      { key: "size_kb", label: t("vm.config.size"), render: (d) => kib(d.size_kb) },
      { key: "readonly", label: t("vm.config.readonly"), render: (d) => (d.readonly ? t("vm.yes") : t("vm.no")) },
      ...(modify ? [{ key: "actions", label: t("vm.actions"), sortable: false, render: (d) => html`<div class="actions">
        <button type="button" class="danger" disabled=${job.busy} aria-label=${t("vm.config.removeDisk", { target: d.target })} onClick=${() => remove(d)}>${t("vm.remove")}</button></div>` }] : []),
    ]} />
    ${modify && html`<${AddDisk} vm=${vm} job=${job} />`}
    <div class="toolbar">${job.status}</div>`;
}

/** Add a disk from a volume of one of the node's pools. */
function AddDisk({ vm, job }) {
  const { data: pools, error } = useLive(() => session.rpc("storage.list", { node: vm.node }), (e) => e.target_kind === "pool", [vm.node]);
  const [pool, setPool] = useState("");
  const poolId = pool === "" ? pools?.[0]?.id : Number(pool);
  const { data: volumes } = useLive(
    () => (poolId === undefined ? Promise.resolve([]) : session.rpc("storage.volumes", poolId)),
    (e) => e.target_kind === "volume" || e.target_kind === "pool",
    [poolId],
  );
  const add = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    job.run(() => session.rpc("vm.addDisk", vm.id, {
      target: form.get("target").trim(), pool: poolId, volume: form.get("volume"), readonly: form.get("readonly") === "on",
    }));
  };
  const usable = (volumes ?? []).filter((v) => v.state === "present");
  if (pools && pools.length === 0) return html`<p class="muted">${t("vm.config.noPools")}</p>`;
  return html`<form class="grid" aria-label=${t("vm.config.addDisk")} onSubmit=${add}>
    <label for="disk-target">${t("vm.config.target")}</label>
    <input id="disk-target" name="target" required placeholder="xvdb" />
    <label for="disk-pool">${t("vm.config.pool")}</label>
    <select id="disk-pool" value=${poolId ?? ""} onChange=${(e) => setPool(e.target.value)}>
      ${(pools ?? []).map((p) => html`<option value=${p.id}>${p.name}</option>`)}
    </select>
    <label for="disk-volume">${t("vm.config.volume")}</label>
    <select id="disk-volume" name="volume" required>
      ${usable.map((v) => html`<option value=${v.name}>${v.name} (${kib(v.capacity_kb)})</option>`)}
    </select>
    <label for="disk-readonly">${t("vm.config.readonly")}</label>
    <input id="disk-readonly" name="readonly" type="checkbox" />
    <span></span>
    <div class="toolbar"><button type="submit" disabled=${job.busy || poolId === undefined || usable.length === 0}>${t("vm.config.addDisk")}</button></div>
    <${Fault} error=${error} />
  </form>`;
}
