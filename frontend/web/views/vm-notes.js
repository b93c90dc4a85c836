// views/vm-notes.js: the VM's Notes tab: the notes shown as text (never as markup) and a
// form to replace them (vm.setNotes, at most 64 KiB, counted as the user types).
import { html, useEffect, useState } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Loading, useAction, useLive } from "../ui.js";

const MAX_BYTES = 64 * 1024;

export default function VmNotes({ vm }) {
  const { data: notes, error } = useLive(() => rpc("vm.notes", vm.id),
    (e) => e.kind === "vm.setNotes" && String(e.target) === String(vm.id), [vm.id]);
  if (notes === undefined) return html`<${Loading} error=${error} />`;
  return html`
    <h2 id="vm-notes-shown">${t("vm.notes.title")}</h2>
    <${Fault} error=${error} />
    <div class="table-wrap notes-text" aria-labelledby="vm-notes-shown" data-notes>
      ${notes ? html`<pre>${notes}</pre>` : html`<p class="muted">${t("vm.notes.none")}</p>`}
    </div>
    ${vm.permissions.includes("modify") && html`<${NotesForm} vm=${vm} notes=${notes} />`}`;
}

function NotesForm({ vm, notes }) {
  const [draft, setDraft] = useState(notes);
  const [dirty, setDirty] = useState(false);
  useEffect(() => {
    if (!dirty) setDraft(notes);
  }, [notes]);
  const action = useAction();
  const size = new TextEncoder().encode(draft).length;
  const submit = (event) => {
    event.preventDefault();
    if (size <= MAX_BYTES) action.run(async () => {
      await rpc("vm.setNotes", vm.id, draft);
      setDirty(false);
    }, t("vm.notes.saved"));
  };
  return html`<h2 id="vm-notes-edit">${t("vm.notes.edit")}</h2>
    <form aria-labelledby="vm-notes-edit" onSubmit=${submit}>
      <label for="vm-notes-text" class="sr-only">${t("vm.notes.label")}</label>
      <textarea id="vm-notes-text" rows="10" cols="40" value=${draft} aria-describedby="vm-notes-count"
        onInput=${(e) => { setDraft(e.target.value); setDirty(true); action.reset(); }}></textarea>
      <p id="vm-notes-count" class=${size > MAX_BYTES ? "error" : "muted"}>${t("vm.notes.count", { used: size, max: MAX_BYTES })}</p>
      <div class="toolbar">
        <button type="submit" class="primary" disabled=${action.busy || size > MAX_BYTES}>${t("vm.notes.save")}</button>
        ${action.status}
      </div>
    </form>`;
}
