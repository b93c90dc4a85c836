// views/vm-console.js: the VM's Console tab. The browser console arrives with the
// vm.console method; until then the tab says it is not available.
import { html } from "../html.js";
import { t } from "../i18n.js";

export default function VmConsole() {
  return html`<h2>${t("vm.console.title")}</h2>
    <p class="notice" role="note">${t("vm.console.unavailable")}</p>`;
}
