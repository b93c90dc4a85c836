// views/vm.js: one VM's page. Its heading (name and state badge), the power buttons its
// state allows, its facts, and the tabs (Status, Configuration, Maintenance, Console,
// Log, Users, Notes), each a module of its own loaded when first shown. The VM is read
// through vm.get and re-read on every event about it or about one of its pending jobs.
// Also the pieces the tabs share: a job followed to its end, and running such a job.
import { html, useEffect, useRef, useState } from "../html.js";
import { t } from "../i18n.js";
import { session } from "../rpc.js";
import { Fault, Lazy, Loading, StateBadge, Tabs, duration, kib, useLive } from "../ui.js";

const TABS = {
  status: () => import("./vm-status.js"),
  config: () => import("./vm-config.js"),
  maintenance: () => import("./vm-maintenance.js"),
  console: () => import("./vm-console.js"),
  log: () => import("./vm-log.js"),
  users: () => import("./vm-users.js"),
  notes: () => import("./vm-notes.js"),
};

/** The power actions each state allows, in the order the buttons show. */
const POWER = {
  running: ["pause", "shutdown", "reboot", "destroy"],
  idle: ["pause", "shutdown", "reboot", "destroy"],
  paused: ["unpause", "destroy"],
  stopped: ["start"],
  crashed: ["start", "destroy"],
  unknown: ["destroy"],
};

/** True when the event is about VM `id` (its state, its audited changes, its jobs). */
export const aboutVm = (id) => (e) => e.target_kind === "vm" && String(e.target) === String(id);

/** An action's name in words (a module's own job action as it is named). */
export function actionLabel(action) {
  const key = `vm.action.${action}`;
  const text = t(key);
  return text === key ? action : text;
}

export default function VmPage({ id, tab, me }) {
  const vmId = Number(id);
  const pendingJobs = useRef(new Set());
  const { data: vm, error } = useLive(
    () => session.rpc("vm.get", vmId),
    (e) => aboutVm(vmId)(e) || (e.kind?.startsWith("job.") && pendingJobs.current.has(e.job)),
    [vmId],
  );
  if (!vm) return html`<${Loading} error=${error} />`;
  pendingJobs.current = new Set(vm.pending.map((p) => p.job));
  const current = tab && tab in TABS ? tab : "status";
  return html`
    <h1>${vm.name} <${StateBadge} state=${vm.state} /></h1>
    <${Fault} error=${error} />
    ${vm.permissions.includes("power") && html`<${PowerButtons} vm=${vm} />`}
    <${Facts} vm=${vm} me=${me} />
    <${Tabs} label=${t("vm.tabs")} current=${current} href=${(tabId) => `#/vms/${vmId}/${tabId}`}
      tabs=${Object.keys(TABS).map((tabId) => ({ id: tabId, label: t(`vm.tab.${tabId}`) }))} />
    <${TabPanel} key=${current} tab=${current} vm=${vm} me=${me} />`;
}

function PowerButtons({ vm }) {
  const action = useJobAction();
  const run = (verb) => {
    if (verb === "destroy" && !confirm(t("vm.confirmDestroy", { name: vm.name }))) return;
    action.run(() => session.rpc(`vm.${verb}`, vm.id));
  };
  return html`<div class="toolbar" role="group" aria-label=${t("vm.power")}>
    ${(POWER[vm.state] ?? []).map((verb) => html`<button type="button" key=${verb} class=${verb === "destroy" ? "danger" : ""}
        disabled=${action.busy} onClick=${() => run(verb)}>${t(`vm.action.${verb}`)}</button>`)}
    ${action.status}
  </div>`;
}

function Facts({ vm, me }) {
  const owner = useOwnerName(vm.owner, me);
  const uptime = vm.started_at && ["running", "idle", "paused"].includes(vm.state)
    ? duration((Date.now() - vm.started_at.getTime()) / 1000) : "–";
  const facts = [
    ["vm.type", vm.type],
    ["vm.os", vm.os || "–"],
    ["vm.node", html`<a href=${`#/nodes/${vm.node}`}>${vm.node_name}</a>`],
    ["vm.owner", owner],
    ["vm.uptime", uptime],
    ["vm.memory", t("vm.memoryOf", { memory: kib(vm.memory_kb), max: kib(vm.max_memory_kb) })],
    ["vm.vcpus", vm.vcpus],
    ["vm.uuid", vm.uuid],
  ];
  return html`<dl class="facts" aria-label=${t("vm.facts")}>
    ${facts.map(([key, value]) => html`<dt key=${`t${key}`}>${t(key)}</dt><dd key=${`d${key}`} data-fact=${key.slice(3)}>${value}</dd>`)}
  </dl>`;
}

/** The owner's user name when the caller may read it, else their id. */
function useOwnerName(owner, me) {
  const [name, setName] = useState(null);
  useEffect(() => {
    setName(null);
    if (owner === undefined || owner === null || owner === me.id) return;
    if (me.role === "user") return;
    session.rpc("user.list").then((users) => setName(users.find((u) => u.id === owner)?.username ?? null), () => {});
  }, [owner, me.id]);
  if (owner === undefined || owner === null) return t("vm.noOwner");
  if (owner === me.id) return me.username;
  return name ?? t("vm.userId", { id: owner });
}

/** The current tab's module, imported on first use. */
function TabPanel({ tab, vm, me }) {
  return html`<section class=${`vm-tab vm-${tab}`} aria-label=${t(`vm.tab.${tab}`)}><${Lazy} load=${TABS[tab]} props=${{ vm, me }} /></section>`;
}

/**
 * Run calls that start a job (a job id, or {id, job}): `run(call)` makes the call and then
 * follows the job; `status` shows the call's fault or the job's progress and outcome.
 */
export function useJobAction(onEnd) {
  const [state, setState] = useState({ busy: false, error: null, job: null });
  const run = async (call) => {
    setState({ busy: true, error: null, job: null });
    try {
      const answer = await call();
      setState({ busy: false, error: null, job: typeof answer === "object" ? answer.job : answer });
      return true;
    } catch (error) {
      setState({ busy: false, error, job: null });
      return false;
    }
  };
  const status = html`<${Fault} error=${state.error} />${state.job && html`<${JobProgress} key=${state.job} id=${state.job} onEnd=${onEnd} />`}`;
  return { ...state, run, status };
}

const ENDED = ["succeeded", "failed", "cancelled"];

/** A job's state, followed through its job.* events to its outcome. */
export function JobProgress({ id, onEnd }) {
  const { data: job, error } = useLive(() => session.rpc("job.get", id), (e) => e.job === id, [id]);
  const reported = useRef(false);
  useEffect(() => {
    if (job && ENDED.includes(job.state) && !reported.current) {
      reported.current = true;
      onEnd?.(job);
    }
  }, [job?.state]);
  if (!job) return html`<span role="status" class="muted">${error ? "" : t("vm.job.starting", { id })}</span><${Fault} error=${error} />`;
  return html`<span role="status" class=${`job job-${job.state}${job.state === "failed" ? " error" : ""}`} data-job=${id} data-job-state=${job.state}>
    ${t("vm.job.line", { id, action: actionLabel(job.action), state: t(`vm.job.${job.state}`) })}
    ${job.state === "succeeded" && job.applies && ` — ${t(`vm.applies.${job.applies === "next boot" ? "nextBoot" : "now"}`)}`}
    ${job.state === "failed" && `: ${job.error}`}
  </span>`;
}
