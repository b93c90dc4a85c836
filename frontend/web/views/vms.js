// views/vms.js: the Virtual Machines section: #/vms the live list (filtered by state and
// text, power actions per row and on the selected rows, each job followed in its row),
// #/vms/new Create New (vm-create.js), #/vms/<id>/<tab> one VM's page (vm.js).
import { html, useEffect, useMemo, useRef, useState } from "../html.js";
import { t } from "../i18n.js";
import { subscribe } from "../live.js";
import { rpc } from "../rpc.js";
import { Fault, Lazy, Loading, StateBadge, Table, duration, faultText, kib, options, routeQuery, useAction, useLive } from "../ui.js";

const createPage = () => import("./vm-create.js");
const vmPage = () => import("./vm.js");

export default function Vms({ route, me }) {
  if (route[1] === "new") return html`<${Lazy} key="create" load=${createPage} props=${{ me }} />`;
  if (route[1]) return html`<${Lazy} key="vm" load=${vmPage} props=${{ id: Number(route[1]), tab: route[2], me }} />`;
  return html`<${VmList} />`;
}

/** The power actions and the states each is allowed in. */
const RUNNING = ["running", "idle"];
const ACTIONS = { start: ["stopped", "crashed"], pause: RUNNING, unpause: ["paused"], shutdown: RUNNING, reboot: RUNNING };
const allows = (action, vm) => ACTIONS[action].includes(vm.state);

/** The state filter's choices and the states each keeps. */
const STATE_GROUPS = { all: null, running: RUNNING, paused: ["paused"], stopped: ["stopped", "crashed", "unknown"] };
/** The states with an uptime and a console. */
const UP_STATES = ["running", "idle", "paused"];
const ENDED = ["succeeded", "failed", "cancelled"];
const RANK = { pending: 0, running: 1, succeeded: 2, failed: 2, cancelled: 2 };

/** The list is re-read on VM events, ended jobs on VMs and renamed nodes. */
const touchesList = (e) =>
  (e.target_kind === "vm" && (!e.kind.startsWith("job.") || ENDED.includes(e.state))) ||
  (e.target_kind === "node" && e.kind === "node.update");

const queryState = () => {
  const state = routeQuery().get("state");
  return state in STATE_GROUPS ? state : "all";
};

function VmList() {
  const { data: read, error } = useLive(() => rpc("vm.list"), touchesList);
  const vms = useEventStates(read);
  const [group, setGroup] = useState(queryState);
  const [search, setSearch] = useState("");
  const [selected, setSelected] = useState(new Set());
  const [summary, setSummary] = useState(null);
  const jobs = useVmJobs();
  useMinuteClock();
  useEffect(() => {
    const onHash = () => setGroup(queryState());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  const chooseGroup = (value) => {
    setGroup(value);
    history.replaceState(null, "", value === "all" ? "#/vms" : `#/vms?state=${value}`);
  };
  if (!vms) return html`<h1>${t("vms.title")}</h1><${Loading} error=${error} />`;
  const rows = STATE_GROUPS[group] ? vms.filter((vm) => STATE_GROUPS[group].includes(vm.state)) : vms;
  const chosen = vms.filter((vm) => selected.has(vm.id));
  const bulk = async (action) => {
    const eligible = chosen.filter((vm) => allows(action, vm));
    const faults = await Promise.all(eligible.map((vm) => jobs.run(action, vm)));
    const failed = eligible.map((vm, i) => ({ name: vm.name, error: faults[i] })).filter((f) => f.error);
    setSummary({ action, sent: eligible.length - failed.length, skipped: chosen.length - eligible.length, failed });
  };
  return html`
    <h1>${t("vms.title")}</h1>
    <div class="toolbar">
      <a href="#/vms/new">${t("vms.createNew")}</a>
      <label for="vms-state">${t("vms.stateFilter")}</label>
      <select id="vms-state" value=${group} onChange=${(e) => chooseGroup(e.target.value)}>
        ${options(Object.keys(STATE_GROUPS).map((g) => [g, t(`vms.group.${g}`)]))}
      </select>
      <label for="vms-search">${t("vms.search")}</label>
      <input id="vms-search" type="search" value=${search} onInput=${(e) => setSearch(e.target.value)} />
      <${Fault} error=${error} />
    </div>
    <${BulkBar} count=${chosen.length} onAction=${bulk} summary=${summary} onDismiss=${() => setSummary(null)} />
    <${Table} caption=${t("vms.caption", { shown: rows.length, total: vms.length })} columns=${columns(jobs)} rows=${rows}
      filter=${search} selected=${selected} onSelect=${setSelected} empty=${t("vms.none")} />`;
}

/**
 * The list with the states that vm.state events reported since it was read: a row shows
 * its new state as soon as the event arrives, before the list is read again.
 */
function useEventStates(vms) {
  const [states, setStates] = useState(new Map());
  useEffect(
    () =>
      subscribe((events) => {
        const seen = events.filter((e) => e.kind === "vm.state" && e.state);
        if (seen.length) setStates((old) => new Map([...old, ...seen.map((e) => [Number(e.target), e.state])]));
      }),
    [],
  );
  useEffect(() => setStates(new Map()), [vms]); // a fresh read holds them all
  return useMemo(
    () => (vms && states.size ? vms.map((vm) => (states.has(vm.id) ? { ...vm, state: states.get(vm.id) } : vm)) : vms),
    [vms, states],
  );
}

/** The columns of the list; the state cell shows the row's job, the last one its actions. */
function columns(jobs) {
  const uptime = (vm) => (UP_STATES.includes(vm.state) && vm.started_at ? Math.max(0, (Date.now() - vm.started_at) / 1000) : null);
  return [
    { key: "name", label: t("vms.name"), render: (vm) => html`<a href=${`#/vms/${vm.id}`}>${vm.name}</a>` },
    { key: "type", label: t("vms.type") },
    { key: "os", label: t("vms.os"), render: (vm) => vm.os || "–" },
    { key: "state", label: t("vms.state"), render: (vm) => html`<${StateCell} vm=${vm} entry=${jobs.of(vm.id)} onDismiss=${() => jobs.dismiss(vm.id)} />` },
    { key: "uptime", label: t("vms.uptime"), value: uptime, render: (vm) => duration(uptime(vm)) },
    { key: "node", label: t("vms.node"), value: (vm) => vm.node_name, render: (vm) => html`<a href=${`#/nodes/${vm.node}`}>${vm.node_name}</a>` },
    { key: "memory_kb", label: t("vms.memory"), render: (vm) => kib(vm.memory_kb) },
    { key: "vcpus", label: t("vms.vcpus") },
    { key: "actions", label: t("vms.actions"), sortable: false, value: () => "", render: (vm) => html`<${RowActions} vm=${vm} busy=${jobs.busy(vm.id)} onAction=${(a) => jobs.run(a, vm)} />` },
  ];
}

/** The state badge, and the row's job in progress or its failure. */
function StateCell({ vm, entry, onDismiss }) {
  const badge = html`<${StateBadge} state=${vm.state} />`;
  if (!entry) return badge;
  if (entry.error) {
    return html`${badge} <span class="error" role="alert">${entry.error}</span>
      <button type="button" aria-label=${t("vms.dismissFor", { name: vm.name })} onClick=${onDismiss}>${t("vms.dismiss")}</button>`;
  }
  return html`${badge} <span role="status" class="muted job" data-job=${entry.job}>${t(`vms.doing.${entry.action}`)} ${t("vms.jobState", { job: entry.job, state: t(`vm.job.${entry.state}`) })}</span>`;
}

/** The actions the row's state allows; Console is a link to the VM's console tab. */
function RowActions({ vm, busy, onAction }) {
  return html`<div class="actions">
    ${Object.keys(ACTIONS).filter((a) => allows(a, vm)).map((a) => html`
      <button type="button" disabled=${busy} aria-label=${t("vms.actionFor", { action: t(`vm.action.${a}`), name: vm.name })}
        onClick=${() => onAction(a)}>${t(`vm.action.${a}`)}</button>`)}
    ${UP_STATES.includes(vm.state) && html`<a href=${`#/vms/${vm.id}/console`} aria-label=${t("vms.consoleFor", { name: vm.name })}>${t("vms.console")}</a>`}
  </div>`;
}

/** The actions on every selected VM, and what the last one sent and which failed. */
function BulkBar({ count, onAction, summary, onDismiss }) {
  const { busy, run } = useAction();
  return html`<div class="toolbar" role="group" aria-label=${t("vms.bulk")}>
    <span class="muted">${t("vms.selected", { count })}</span>
    ${Object.keys(ACTIONS).map((a) => html`
      <button type="button" disabled=${busy || count === 0} onClick=${() => run(() => onAction(a))}>${t("vms.bulkAction", { action: t(`vm.action.${a}`) })}</button>`)}
    ${summary && html`<${BulkSummary} summary=${summary} onDismiss=${onDismiss} />`}
  </div>`;
}

function BulkSummary({ summary, onDismiss }) {
  const { action, sent, skipped, failed } = summary;
  return html`<p role="status" class="bulk-summary">
    ${t("vms.bulkSent", { action: t(`vm.action.${action}`), sent, skipped })}
    ${failed.map((f) => html` <span class="error">${t("vms.bulkFailed", { name: f.name, error: f.error })}</span>`)}
    ${" "}<button type="button" onClick=${onDismiss}>${t("vms.dismiss")}</button>
  </p>`;
}

/**
 * The jobs this page started, by VM id: {action, job, state, error?}, kept current by the
 * job.* events of their job ids. Ended jobs leave the row (the list shows the new state);
 * a failed or refused one stays with its error until dismissed.
 */
function useVmJobs() {
  const entries = useRef({});
  const [, setVersion] = useState(0);
  const change = (vmId, next) => {
    const { [vmId]: old, ...others } = entries.current;
    entries.current = next ? { ...others, [vmId]: next } : others;
    setVersion((v) => v + 1);
  };
  const advance = async (vmId, job, state) => {
    let error = null;
    if (state === "failed") {
      const record = await rpc("job.get", job).catch(() => null);
      error = t("vms.failed", { job, error: record?.error ?? "" });
    } else if (state === "cancelled") error = t("vms.cancelled", { job });
    const entry = entries.current[vmId];
    if (!entry || entry.job !== job || RANK[state] < RANK[entry.state]) return;
    change(vmId, state === "succeeded" ? null : { ...entry, state, error });
  };
  useEffect(() => subscribe((events) => {
    for (const e of events) {
      const entry = e.kind.startsWith("job.") && e.target_kind === "vm" && entries.current[e.target];
      if (entry && entry.job === Number(e.job)) advance(e.target, entry.job, e.state);
    }
  }), []);
  const run = async (action, vm) => {
    try {
      const job = await rpc(`vm.${action}`, vm.id);
      change(vm.id, { action, job, state: "pending" });
      const record = await rpc("job.get", job).catch(() => null);
      if (record) advance(vm.id, job, record.state);
      return null;
    } catch (e) {
      change(vm.id, { action, error: t("vms.refused", { action: t(`vm.action.${action}`), error: faultText(e) }) });
      return faultText(e);
    }
  };
  return {
    run,
    of: (vmId) => entries.current[vmId],
    busy: (vmId) => Boolean(entries.current[vmId] && !entries.current[vmId].error),
    dismiss: (vmId) => change(vmId, null),
  };
}

/** Render again every minute, so that uptimes count on between re-reads of the list. */
function useMinuteClock() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), 60000);
    return () => clearInterval(timer);
  }, []);
}
