// views/vm-maintenance.js: the VM's Maintenance tab. Its snapshots (take, revert to,
// delete: each a job followed to its end), the schedules that act on it (a calendar of
// power actions or of reverts to a snapshot) and the triggers that act on it when its
// state changes.
import { html, useState } from "../html.js";
import { t } from "../i18n.js";
import { session } from "../rpc.js";
import { Fault, Table, useLive, when } from "../ui.js";
import { aboutVm, actionLabel, useJobAction } from "./vm.js";

const POWER_ACTIONS = ["start", "pause", "unpause", "shutdown", "reboot", "destroy"];
const STATES = ["running", "idle", "paused", "stopped", "crashed"];

export default function VmMaintenance({ vm }) {
  const snapshots = useLive(() => session.rpc("vm.snapshots", vm.id), aboutVm(vm.id), [vm.id]);
  const modify = vm.permissions.includes("modify");
  return html`
    <${Snapshots} vm=${vm} snapshots=${snapshots} modify=${modify} />
    <${Schedules} vm=${vm} snapshots=${snapshots.data ?? []} />
    <${Triggers} vm=${vm} />`;
}

function Snapshots({ vm, snapshots, modify }) {
  const job = useJobAction();
  const take = async (event) => {
    event.preventDefault();
    const form = event.target;
    if (await job.run(() => session.rpc("vm.snapshot", vm.id, form.elements.name.value.trim()))) form.reset();
  };
  const revert = (s) => confirm(t("vm.snap.confirmRevert", { name: s.name, vm: vm.name })) && job.run(() => session.rpc("vm.revert", vm.id, s.name));
  const remove = (s) => job.run(() => session.rpc("vm.deleteSnapshot", vm.id, s.name));
  return html`<h2 id="vm-snapshots">${t("vm.snap.title")}</h2>
    <${Fault} error=${snapshots.error} />
    <${Table} caption=${t("vm.snap.caption")} rows=${snapshots.data ?? []} empty=${t("vm.snap.none")} columns=${[
      { key: "name", label: t("vm.name") },
      { key: "created", label: t("vm.snap.created"), render: (s) => when(s.created) },
      { key: "state", label: t("vm.snap.state"), render: (s) => t(`state.${s.state}`) },
      ...(modify ? [{ key: "actions", label: t("vm.actions"), sortable: false, render: (s) => html`<div class="actions">
        <button type="button" disabled=${job.busy} aria-label=${t("vm.snap.revertTo", { name: s.name })} onClick=${() => revert(s)}>${t("vm.snap.revert")}</button>
        <button type="button" class="danger" disabled=${job.busy} aria-label=${t("vm.snap.delete", { name: s.name })} onClick=${() => remove(s)}>${t("vm.delete")}</button>
      </div>` }] : []),
    ]} />
    ${modify && html`<form class="toolbar" aria-label=${t("vm.snap.take")} onSubmit=${take}>
      <label for="snap-name">${t("vm.snap.name")}</label>
      <input id="snap-name" name="name" required pattern="[A-Za-z0-9._\\-]+" title=${t("vm.snap.nameHint")} />
      <button type="submit" disabled=${job.busy}>${t("vm.snap.take")}</button>
    </form>`}
    <div class="toolbar">${job.status}</div>`;
}

function Schedules({ vm, snapshots }) {
  const { data, error } = useLive(() => session.rpc("schedule.list"),
    (e) => e.target_kind === "schedule" || e.kind.startsWith("schedule.") || aboutVm(vm.id)(e), [vm.id]);
  const [action, setAction] = useState("start");
  const [fault, setFault] = useState(null);
  const create = async (event) => {
    event.preventDefault();
    const form = event.target;
    const schedule = { name: form.elements.name.value.trim(), vm: vm.id, action, cron: form.elements.cron.value.trim() };
    if (action === "revert") schedule.params = { snapshot: Number(form.elements.snapshot.value) };
    try {
      setFault(null);
      await session.rpc("schedule.create", schedule);
      form.reset();
      setAction("start");
    } catch (e) {
      setFault(e);
    }
  };
  const remove = (s) => session.rpc("schedule.delete", s.id).then(() => setFault(null), setFault);
  const mine = (data ?? []).filter((s) => s.vm === vm.id);
  return html`<h2 id="vm-schedules">${t("vm.sched.title")}</h2>
    <${Fault} error=${error} />
    <${Table} caption=${t("vm.sched.caption")} rows=${mine} empty=${t("vm.sched.none")} columns=${[
      { key: "name", label: t("vm.name") },
      { key: "action", label: t("vm.sched.action"), render: (s) => actionLabel(s.action) },
      { key: "cron", label: t("vm.sched.cron"), render: (s) => `${s.cron} (${s.timezone})` },
      { key: "next_run", label: t("vm.sched.next"), render: (s) => when(s.next_run) },
      { key: "last_run", label: t("vm.sched.last"), render: (s) => when(s.last_run) },
      { key: "actions", label: t("vm.actions"), sortable: false, render: (s) => html`<div class="actions">
        <button type="button" class="danger" aria-label=${t("vm.sched.delete", { name: s.name })} onClick=${() => remove(s)}>${t("vm.delete")}</button></div>` },
    ]} />
    <form class="grid" aria-label=${t("vm.sched.create")} onSubmit=${create}>
      <label for="sched-name">${t("vm.name")}</label>
      <input id="sched-name" name="name" required />
      <label for="sched-action">${t("vm.sched.action")}</label>
      <select id="sched-action" value=${action} onChange=${(e) => setAction(e.target.value)}>
        ${[...POWER_ACTIONS, "revert"].map((a) => html`<option value=${a}>${t(`vm.action.${a}`)}</option>`)}
      </select>
      ${action === "revert" && html`
        <label for="sched-snapshot">${t("vm.sched.snapshot")}</label>
        <select id="sched-snapshot" name="snapshot" required>
          ${snapshots.map((s) => html`<option value=${s.id}>${s.name}</option>`)}
        </select>`}
      <label for="sched-cron">${t("vm.sched.cron")}</label>
      <input id="sched-cron" name="cron" required placeholder="0 3 * * *" />
      <p class="hint">${t("vm.sched.cronHint")}</p>
      <span></span>
      <div class="toolbar"><button type="submit">${t("vm.sched.create")}</button></div>
    </form>
    <${Fault} error=${fault} />`;
}

function Triggers({ vm }) {
  const { data, error } = useLive(() => session.rpc("trigger.list"),
    (e) => e.target_kind === "trigger" || e.kind.startsWith("trigger."), [vm.id]);
  const [fault, setFault] = useState(null);
  const create = async (event) => {
    event.preventDefault();
    const form = event.target;
    const trigger = { name: form.elements.name.value.trim(), event: "vm_state", vm: vm.id, target: vm.id, action: form.elements.action.value };
    if (form.elements.state.value) trigger.state = form.elements.state.value;
    try {
      setFault(null);
      await session.rpc("trigger.create", trigger);
      form.reset();
    } catch (e) {
      setFault(e);
    }
  };
  const remove = (tr) => session.rpc("trigger.delete", tr.id).then(() => setFault(null), setFault);
  const mine = (data ?? []).filter((tr) => tr.vm === vm.id || tr.target === vm.id);
  return html`<h2 id="vm-triggers">${t("vm.trig.title")}</h2>
    <${Fault} error=${error} />
    <${Table} caption=${t("vm.trig.caption")} rows=${mine} empty=${t("vm.trig.none")} columns=${[
      { key: "name", label: t("vm.name") },
      { key: "event", label: t("vm.trig.event"), render: describeEvent },
      { key: "action", label: t("vm.sched.action"), render: (tr) => actionLabel(tr.action) },
      { key: "fired_at", label: t("vm.trig.fired"), render: (tr) => when(tr.fired_at) },
      { key: "actions", label: t("vm.actions"), sortable: false, render: (tr) => html`<div class="actions">
        <button type="button" class="danger" aria-label=${t("vm.trig.delete", { name: tr.name })} onClick=${() => remove(tr)}>${t("vm.delete")}</button></div>` },
    ]} />
    <form class="grid" aria-label=${t("vm.trig.create")} onSubmit=${create}>
      <label for="trig-name">${t("vm.name")}</label>
      <input id="trig-name" name="name" required />
      <label for="trig-state">${t("vm.trig.when")}</label>
      <select id="trig-state" name="state">
        <option value="">${t("vm.trig.anyState")}</option>
        ${STATES.map((s) => html`<option value=${s}>${t("vm.trig.becomes", { state: t(`state.${s}`) })}</option>`)}
      </select>
      <label for="trig-action">${t("vm.sched.action")}</label>
      <select id="trig-action" name="action">
        ${POWER_ACTIONS.map((a) => html`<option value=${a}>${t(`vm.action.${a}`)}</option>`)}
      </select>
      <span></span>
      <div class="toolbar"><button type="submit">${t("vm.trig.create")}</button></div>
    </form>
    <${Fault} error=${fault} />`;
}

function describeEvent(tr) {
  if (tr.event === "vm_state") return tr.state ? t("vm.trig.becomes", { state: t(`state.${tr.state}`) }) : t("vm.trig.anyState");
  if (tr.event === "stat_threshold") return t("vm.trig.threshold", { metric: tr.metric, threshold: tr.threshold, secs: tr.for_secs });
  return tr.event;
}
