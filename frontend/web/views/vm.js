// views/vm.js: one VM's page: its heading and state badge, the power buttons its state
// allows, its facts and its tabs (each a module loaded when first shown), re-read on every
// event about it or its pending jobs. Also what the tabs share: running a job and following it.
import { html, useRef } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Facts, Fault, Lazy, Loading, StateBadge, Tabs, about, confirmed, duration, kib, useAction, useJob, useLive } from "../ui.js";

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
const UP = ["pause", "shutdown", "reboot", "destroy"];
const POWER = { running: UP, idle: UP, paused: ["unpause", "destroy"], stopped: ["start"], crashed: ["start", "destroy"], unknown: ["destroy"] };

/** True when the event is about VM `id` (its state, its audited changes, its jobs). */
export const aboutVm = (id) => about("vm", id);

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
    () => rpc("vm.get", vmId),
    (e) => aboutVm(vmId)(e) || (e.kind?.startsWith("job.") && pendingJobs.current.has(e.job)),
    [vmId],
  );
  if (!vm) return html`<${Loading} error=${error} />`;
  pendingJobs.current = new Set(vm.pending.map((p) => p.job));
  const current = tab in TABS ? tab : "status";
  return html`
    <h1>${vm.name} <${StateBadge} state=${vm.state} /></h1>
    <${Fault} error=${error} />
    ${vm.permissions.includes("power") && html`<${PowerButtons} vm=${vm} />`}
    <${VmFacts} vm=${vm} me=${me} />
    <${Tabs} label=${t("vm.tabs")} current=${current} href=${(tabId) => `#/vms/${vmId}/${tabId}`}
      tabs=${Object.keys(TABS).map((tabId) => ({ id: tabId, label: t(`vm.tab.${tabId}`) }))} />
    <section key=${current} class=${`vm-tab vm-${current}`} aria-label=${t(`vm.tab.${current}`)}>
      <${Lazy} load=${TABS[current]} props=${{ vm, me }} />
    </section>`;
}

function PowerButtons({ vm }) {
  const action = useJobAction();
  const run = (verb) => action.run(() => rpc(`vm.${verb}`, vm.id));
  const click = (verb) => (verb === "destroy" ? confirmed(t("vm.confirmDestroy", { name: vm.name }), () => run(verb)) : run(verb));
  return html`<div class="toolbar" role="group" aria-label=${t("vm.power")}>
    ${(POWER[vm.state] ?? []).map((verb) => html`<button type="button" key=${verb} class=${verb === "destroy" ? "danger" : ""}
        disabled=${action.busy} onClick=${() => click(verb)}>${t(`vm.action.${verb}`)}</button>`)}
    ${action.status}
  </div>`;
}

function VmFacts({ vm, me }) {
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
  return html`<${Facts} label=${t("vm.facts")} facts=${facts.map(([key, value]) => [t(key), value, { "data-fact": key.slice(3) }])} />`;
}

/** The owner's user name when the caller may read it (staff), else their id. */
function useOwnerName(owner, me) {
  const other = owner !== undefined && owner !== null && owner !== me.id;
  const { data: users } = useLive(() => (other && me.role !== "user" ? rpc("user.list") : Promise.resolve([])), undefined, [owner, me.id]);
  if (!other) return owner === me.id ? me.username : t("vm.noOwner");
  return users?.find((u) => u.id === owner)?.username ?? t("vm.userId", { id: owner });
}

/**
 * Run calls that start a job (their answer a job id, or {id, job}): `run(call)` makes the
 * call; `status` shows its fault, or the job's progress to its outcome.
 */
export function useJobAction() {
  const action = useAction();
  const job = typeof action.result === "object" ? action.result?.job : action.result;
  return { ...action, status: html`<${Fault} error=${action.error} />${job && html`<${JobProgress} key=${job} id=${job} />`}` };
}

/** A job's state, followed through its job.* events to its outcome. */
function JobProgress({ id }) {
  const { data: job, error } = useJob(id);
  if (!job) return html`<span role="status" class="muted">${error ? "" : t("vm.job.starting", { id })}</span><${Fault} error=${error} />`;
  return html`<span role="status" class=${`job job-${job.state}${job.state === "failed" ? " error" : ""}`} data-job=${id} data-job-state=${job.state}>
    ${t("vm.job.line", { id, action: actionLabel(job.action), state: t(`vm.job.${job.state}`) })}
    ${job.state === "succeeded" && job.applies && ` — ${t(`vm.applies.${job.applies === "next boot" ? "nextBoot" : "now"}`)}`}
    ${job.state === "failed" && `: ${job.error}`}
  </span>`;
}
