// views/vm-maintenance.js: the VM's Maintenance tab: its snapshots (take, revert to,
// delete: each a job followed to its end), the schedules that act on it (power actions or
// reverts on a calendar) and the triggers that act on it when its state changes.
import { html, useState } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Field, Submit, Table, buttonsColumn, confirmed, options, useAction, useLive, when } from "../ui.js";
import { aboutVm, actionLabel, useJobAction } from "./vm.js";

const POWER_ACTIONS = ["start", "pause", "unpause", "shutdown", "reboot", "destroy"];
const STATES = ["running", "idle", "paused", "stopped", "crashed"];

export default function VmMaintenance({ vm }) {
  const snapshots = useLive(() => rpc("vm.snapshots", vm.id), aboutVm(vm.id), [vm.id]);
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
    if (await job.run(() => rpc("vm.snapshot", vm.id, form.elements.name.value.trim()))) form.reset();
  };
  const revert = (s) => confirmed(t("vm.snap.confirmRevert", { name: s.name, vm: vm.name }), () => job.run(() => rpc("vm.revert", vm.id, s.name)));
  const remove = (s) => job.run(() => rpc("vm.deleteSnapshot", vm.id, s.name));
  return html`<h2 id="vm-snapshots">${t("vm.snap.title")}</h2>
    <${Fault} error=${snapshots.error} />
    <${Table} caption=${t("vm.snap.caption")} rows=${snapshots.data ?? []} empty=${t("vm.snap.none")} columns=${[
      { key: "name", label: t("vm.name") },
      { key: "created", label: t("vm.snap.created"), render: (s) => when(s.created) },
      { key: "state", label: t("vm.snap.state"), render: (s) => t(`state.${s.state}`) },
      ...(modify ? [buttonsColumn(t("vm.actions"), (s) => [
        { text: t("vm.snap.revert"), name: t("vm.snap.revertTo", { name: s.name }), onClick: () => revert(s), busy: job.busy },
        { text: t("vm.delete"), name: t("vm.snap.delete", { name: s.name }), onClick: () => remove(s), busy: job.busy, danger: true },
      ])] : []),
    ]} />
    ${modify && html`<form class="toolbar" aria-label=${t("vm.snap.take")} onSubmit=${take}>
      <label for="snap-name">${t("vm.snap.name")}</label>
      <input id="snap-name" name="name" required pattern="[A-Za-z0-9._\\-]+" title=${t("vm.snap.nameHint")} />
      <button type="submit" disabled=${job.busy}>${t("vm.snap.take")}</button>
    </form>`}
    <div class="toolbar">${job.status}</div>`;
}

/** The column of a Delete button per row; `name` is the button's accessible name. */
const deleteColumn = (name, remove) => buttonsColumn(t("vm.actions"), (row) => [{ text: t("vm.delete"), name: name(row), onClick: () => remove(row), danger: true }]);

function Schedules({ vm, snapshots }) {
  const { data, error } = useLive(() => rpc("schedule.list"),
    (e) => e.target_kind === "schedule" || e.kind.startsWith("schedule.") || aboutVm(vm.id)(e), [vm.id]);
  const [verb, setVerb] = useState("start");
  const action = useAction();
  const create = (event) => {
    event.preventDefault();
    const form = event.target.elements;
    const schedule = { name: form.name.value.trim(), vm: vm.id, action: verb, cron: form.cron.value.trim() };
    if (verb === "revert") schedule.params = { snapshot: Number(form.snapshot.value) };
    action.run(async () => {
      await rpc("schedule.create", schedule);
      event.target.reset();
      setVerb("start");
    });
  };
  return html`<h2 id="vm-schedules">${t("vm.sched.title")}</h2>
    <${Fault} error=${error} />
    <${Table} caption=${t("vm.sched.caption")} rows=${(data ?? []).filter((s) => s.vm === vm.id)} empty=${t("vm.sched.none")} columns=${[
      { key: "name", label: t("vm.name") },
      { key: "action", label: t("vm.config.action"), render: (s) => actionLabel(s.action) },
      { key: "cron", label: t("vm.sched.cron"), render: (s) => `${s.cron} (${s.timezone})` },
      { key: "next_run", label: t("vm.sched.next"), render: (s) => when(s.next_run) },
      { key: "last_run", label: t("vm.sched.last"), render: (s) => when(s.last_run) },
      deleteColumn((s) => t("vm.sched.delete", { name: s.name }), (s) => action.run(() => rpc("schedule.delete", s.id))),
    ]} />
    <form class="grid" aria-label=${t("vm.sched.create")} onSubmit=${create}>
      <${Field} id="sched-name" label=${t("vm.name")} name="name" required />
      <${Field} id="sched-action" label=${t("vm.config.action")} value=${verb} onChange=${(e) => setVerb(e.target.value)}>
        ${options([...POWER_ACTIONS, "revert"].map((a) => [a, t(`vm.action.${a}`)]))}
      <//>
      ${verb === "revert" && html`<${Field} id="sched-snapshot" label=${t("vm.sched.snapshot")} name="snapshot" required>
        ${options(snapshots.map((s) => [s.id, s.name]))}
      <//>`}
      <${Field} id="sched-cron" label=${t("vm.sched.cron")} name="cron" required placeholder="0 3 * * *" hint=${t("vm.sched.cronHint")} />
      <${Submit} plain label=${t("vm.sched.create")} />
    </form>
    ${action.status}`;
}

function Triggers({ vm }) {
  const { data, error } = useLive(() => rpc("trigger.list"),
    (e) => e.target_kind === "trigger" || e.kind.startsWith("trigger."), [vm.id]);
  const action = useAction();
  const create = (event) => {
    event.preventDefault();
    const form = event.target.elements;
    const trigger = { name: form.name.value.trim(), event: "vm_state", vm: vm.id, target: vm.id, action: form.action.value };
    if (form.state.value) trigger.state = form.state.value;
    action.run(async () => {
      await rpc("trigger.create", trigger);
      event.target.reset();
    });
  };
  return html`<h2 id="vm-triggers">${t("vm.trig.title")}</h2>
    <${Fault} error=${error} />
    <${Table} caption=${t("vm.trig.caption")} rows=${(data ?? []).filter((tr) => tr.vm === vm.id || tr.target === vm.id)}
      empty=${t("vm.trig.none")} columns=${[
      { key: "name", label: t("vm.name") },
      { key: "event", label: t("vm.trig.event"), render: describeEvent },
      { key: "action", label: t("vm.config.action"), render: (tr) => actionLabel(tr.action) },
      { key: "fired_at", label: t("vm.trig.fired"), render: (tr) => when(tr.fired_at) },
      deleteColumn((tr) => t("vm.trig.delete", { name: tr.name }), (tr) => action.run(() => rpc("trigger.delete", tr.id))),
    ]} />
    <form class="grid" aria-label=${t("vm.trig.create")} onSubmit=${create}>
      <${Field} id="trig-name" label=${t("vm.name")} name="name" required />
      <${Field} id="trig-state" label=${t("vm.trig.when")} name="state">
        ${options([["", t("vm.trig.anyState")], ...STATES.map((s) => [s, t("vm.trig.becomes", { state: t(`state.${s}`) })])])}
      <//>
      <${Field} id="trig-action" label=${t("vm.config.action")} name="action">${options(POWER_ACTIONS.map((a) => [a, t(`vm.action.${a}`)]))}<//>
      <${Submit} plain label=${t("vm.trig.create")} />
    </form>
    ${action.status}`;
}

function describeEvent(tr) {
  if (tr.event === "vm_state") return tr.state ? t("vm.trig.becomes", { state: t(`state.${tr.state}`) }) : t("vm.trig.anyState");
  if (tr.event === "stat_threshold") return t("vm.trig.threshold", { metric: tr.metric, threshold: tr.threshold, secs: tr.for_secs });
  return tr.event;
}
