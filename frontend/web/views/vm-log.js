// views/vm-log.js: the VM's Log tab: what happened to it (vm.log, its audit entries) and
// its jobs (job.list), both re-read on every event about the VM.
import { html } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Loading, Table, useLive, when } from "../ui.js";
import { aboutVm, actionLabel } from "./vm.js";

export default function VmLog({ vm }) {
  const { data, error } = useLive(async () => {
    const [entries, jobs] = await Promise.all([rpc("vm.log", vm.id, 200), rpc("job.list", { vm: vm.id, limit: 200 })]);
    return { entries, jobs };
  }, aboutVm(vm.id), [vm.id]);
  if (!data) return html`<${Loading} error=${error} />`;
  return html`
    <h2 id="vm-log-entries">${t("vm.log.entries")}</h2>
    <${Table} caption=${t("vm.log.entriesCaption")} rows=${data.entries} empty=${t("vm.log.noEntries")} columns=${[
      { key: "at", label: t("vm.log.at"), render: (e) => when(e.at) },
      { key: "user", label: t("vm.log.user") },
      { key: "action", label: t("vm.config.action") },
      { key: "detail", label: t("vm.log.detail") },
    ]} />
    <h2 id="vm-log-jobs">${t("vm.log.jobs")}</h2>
    <${Table} caption=${t("vm.log.jobsCaption")} rows=${data.jobs} empty=${t("vm.log.noJobs")} columns=${[
      { key: "id", label: t("vm.config.job") },
      { key: "action", label: t("vm.config.action"), value: (j) => actionLabel(j.action) },
      { key: "state", label: t("vm.config.state"), value: (j) => t(`vm.job.${j.state}`) },
      { key: "kind", label: t("vm.log.startedBy"), value: (j) => t(`vm.log.kind.${j.kind}`) },
      { key: "created", label: t("vm.log.created"), render: (j) => when(j.created) },
      { key: "finished", label: t("vm.log.finished"), render: (j) => when(j.finished) },
      { key: "error", label: t("vm.log.error"), render: (j) => j.error || "–" },
    ]} />`;
}
