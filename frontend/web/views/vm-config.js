// views/vm-config.js: the VM's Configuration tab: its sizes (vm.update with only what
// changed, MiB shown, KiB sent) beside the per-VM limits and the owner's quota, its pending
// changes, and its network interfaces and disks, each added or removed by a job.
import { html, useState } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Field, Submit, Table, buttonsColumn, kib, options, useLive } from "../ui.js";
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
      rpc("config.get"),
      owner === undefined || owner === null ? null : rpc("user.getQuota", owner).catch(() => null),
    ]);
    return { memory: config.vm_max_memory_kb, vcpus: config.vm_max_vcpus, quota: quota ?? {} };
  }, (e) => e.target_kind === "config" || e.kind === "user.setQuota", [owner]);
}

/** The hint of a size: the per-VM limit and the owner's quota, if any. */
const rules = (limit, quota) => [t("vm.config.limit", { limit }), quota !== undefined && t("vm.config.quota", { quota })].filter(Boolean).join(" ");

function Sizes({ vm, modify }) {
  const { data: limits } = useLimits(vm.owner);
  const job = useJobAction();
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const wanted = { memory_kb: toKib(form.get("memory")), max_memory_kb: toKib(form.get("max_memory")), vcpus: Number(form.get("vcpus")) };
    const changes = Object.fromEntries(Object.entries(wanted).filter(([key, value]) => value !== vm[key]));
    if (wanted.memory_kb > wanted.max_memory_kb) return job.fail(t("vm.config.memoryOverMax"));
    if (Object.keys(changes).length === 0) return job.fail(t("vm.config.unchanged"));
    job.run(() => rpc("vm.update", vm.id, changes));
  };
  const size = { type: "number", min: "1", step: "any", required: true, disabled: !modify };
  const quota = limits?.quota.memory_kb;
  return html`<h2 id="vm-sizes">${t("vm.config.sizes")}</h2>
    <form class="grid" aria-labelledby="vm-sizes" onSubmit=${submit} key=${`${vm.memory_kb}/${vm.max_memory_kb}/${vm.vcpus}`}>
      <${Field} id="vm-memory" label=${t("vm.config.memory")} name="memory" ...${size} defaultValue=${mib(vm.memory_kb)} />
      <${Field} id="vm-max-memory" label=${t("vm.config.maxMemory")} name="max_memory" ...${size} defaultValue=${mib(vm.max_memory_kb)}
        hint=${limits && rules(kib(limits.memory), quota === undefined ? undefined : kib(quota))} />
      <${Field} id="vm-vcpus" label=${t("vm.config.vcpus")} name="vcpus" ...${size} step="1" defaultValue=${vm.vcpus}
        hint=${limits && rules(limits.vcpus, limits.quota.vcpus)} />
      <${Submit} label=${t("vm.config.apply")} busy=${!modify || job.busy} />
    </form>
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

/** The column of a Remove button per row, for those who may modify the VM. */
const removeColumn = (modify, job, name, remove) =>
  (modify ? [buttonsColumn(t("vm.actions"), (row) => [{ text: t("vm.remove"), name: name(row), onClick: () => remove(row), danger: true, busy: job.busy }])] : []);

function Vifs({ vm, modify }) {
  const job = useJobAction();
  const add = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const vif = { bridge: form.get("bridge").trim() || "xenbr0" };
    for (const key of ["model", "mac"]) if (form.get(key).trim()) vif[key] = form.get(key).trim();
    job.run(() => rpc("vm.addVif", vm.id, vif));
  };
  return html`<h2 id="vm-vifs">${t("vm.config.vifs")}</h2>
    <${Table} caption=${t("vm.config.vifsCaption")} rows=${vm.vifs} empty=${t("vm.config.noVifs")} columns=${[
      { key: "mac", label: t("vm.config.mac") },
      { key: "bridge", label: t("vm.config.bridge") },
      { key: "model", label: t("vm.config.model"), render: (v) => v.model || "–" },
      ...removeColumn(modify, job, (v) => t("vm.config.removeVif", { mac: v.mac }), (v) => job.run(() => rpc("vm.removeVif", vm.id, v.id))),
    ]} />
    ${modify && html`<form class="grid" aria-label=${t("vm.config.addVif")} onSubmit=${add}>
      <${Field} id="vif-bridge" label=${t("vm.config.bridge")} name="bridge" defaultValue="xenbr0" />
      <${Field} id="vif-model" label=${t("vm.config.model")} name="model" placeholder=${t("vm.config.optional")} />
      <${Field} id="vif-mac" label=${t("vm.config.mac")} name="mac" placeholder="00:16:3e:12:34:56" pattern="([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}"
        hint=${t("vm.config.macHint")} />
      <${Submit} plain label=${t("vm.config.addVif")} busy=${job.busy} />
    </form>`}
    <div class="toolbar">${job.status}</div>`;
}

function Disks({ vm, modify }) {
  const job = useJobAction();
  return html`<h2 id="vm-disks">${t("vm.config.disks")}</h2>
    <${Table} caption=${t("vm.config.disksCaption")} rows=${vm.disks} empty=${t("vm.config.noDisks")} columns=${[
      { key: "target", label: t("vm.config.target") },
      { key: "source", label: t("vm.config.source") },
      { key: "size_kb", label: t("vm.config.size"), render: (d) => kib(d.size_kb) },
      { key: "readonly", label: t("vm.config.readonly"), render: (d) => (d.readonly ? t("vm.yes") : t("vm.no")) },
      ...removeColumn(modify, job, (d) => t("vm.config.removeDisk", { target: d.target }), (d) => job.run(() => rpc("vm.removeDisk", vm.id, d.id))),
    ]} />
    ${modify && html`<${AddDisk} vm=${vm} job=${job} />`}
    <div class="toolbar">${job.status}</div>`;
}

/** Add a disk from a volume of one of the node's pools. */
function AddDisk({ vm, job }) {
  const { data: pools, error } = useLive(() => rpc("storage.list", { node: vm.node }), (e) => e.target_kind === "pool", [vm.node]);
  const [pool, setPool] = useState("");
  const poolId = pool === "" ? pools?.[0]?.id : Number(pool);
  const { data: volumes = [] } = useLive(
    () => (poolId === undefined ? Promise.resolve([]) : rpc("storage.volumes", poolId)),
    (e) => e.target_kind === "volume" || e.target_kind === "pool",
    [poolId],
  );
  const add = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    job.run(() => rpc("vm.addDisk", vm.id, {
      target: form.get("target").trim(), pool: poolId, volume: form.get("volume"), readonly: form.get("readonly") === "on",
    }));
  };
  const usable = volumes.filter((v) => v.state === "present");
  if (pools?.length === 0) return html`<p class="muted">${t("vm.config.noPools")}</p>`;
  return html`<form class="grid" aria-label=${t("vm.config.addDisk")} onSubmit=${add}>
    <${Field} id="disk-target" label=${t("vm.config.target")} name="target" required placeholder="xvdb" />
    <${Field} id="disk-pool" label=${t("vm.config.pool")} value=${poolId ?? ""} onChange=${(e) => setPool(e.target.value)}>
      ${options((pools ?? []).map((p) => [p.id, p.name]))}
    <//>
    <${Field} id="disk-volume" label=${t("vm.config.volume")} name="volume" required>
      ${options(usable.map((v) => [v.name, `${v.name} (${kib(v.capacity_kb)})`]))}
    <//>
    <${Field} id="disk-readonly" label=${t("vm.config.readonly")} name="readonly" type="checkbox" />
    <${Submit} plain label=${t("vm.config.addDisk")} busy=${job.busy || poolId === undefined || usable.length === 0} />
    <${Fault} error=${error} />
  </form>`;
}
