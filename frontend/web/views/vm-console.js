// views/vm-console.js: the VM's Console tab: the console page (console.html: a page of its
// own, for its own content policy) in a frame, with the kind of console to open.
import { html, useState } from "../html.js";
import { t } from "../i18n.js";

const ACTIVE = ["running", "idle", "paused"];

export default function VmConsole({ vm }) {
  const [kind, setKind] = useState("");
  if (!vm.permissions.includes("console")) return html`<p class="notice" role="note">${t("console.noPermission")}</p>`;
  if (!ACTIVE.includes(vm.state)) {
    return html`<p class="notice" role="note">${t("console.notRunning", { state: t(`state.${vm.state}`) })}</p>`;
  }
  const src = `/ui/console.html?vm=${vm.id}${kind ? `&kind=${kind}` : ""}`;
  return html`<div class="toolbar">
      <label for="console-kind">${t("console.kindLabel")}</label>
      <select id="console-kind" value=${kind} onChange=${(e) => setKind(e.target.value)}>
        ${["", "vnc", "text"].map((k) => html`<option value=${k}>${t(`console.kinds.${k || "auto"}`)}</option>`)}
      </select>
    </div>
    <iframe key=${src} class="console-frame" src=${src} title=${t("console.frame", { name: vm.name })}></iframe>`;
}
