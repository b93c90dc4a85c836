// views/nodes.js: the Nodes section: the live list of nodes (reachability, the poller's
// last sample), registering a node (admins) with its poller token and command line shown
// once, and for #/nodes/<id> the node's own page (views/node.js).
import { html, useRef, useState } from "../html.js";
import { t } from "../i18n.js";
import { rpc } from "../rpc.js";
import { Fault, Field, Loading, Submit, Table, duration, options, useAction, useLive, when } from "../ui.js";
import NodePage, { NodeState, nodeStateText } from "./node.js";

const BUILT_IN_TRANSPORTS = ["libvirt", "ssh", "xenapi"];

const touchesNodes = (e) => e.target_kind === "node" || e.kind.startsWith("node.") || e.kind === "vm.create" || e.kind === "vm.delete";

export default function Nodes({ route, me }) {
  if (route[1]) return html`<${NodePage} key=${route[1]} id=${Number(route[1])} me=${me} />`;
  return html`<${NodeList} me=${me} />`;
}

function NodeList({ me }) {
  const [registering, setRegistering] = useState(false);
  const [registered, setRegistered] = useState(null);
  const { data: nodes, error } = useLive(() => rpc("node.list"), touchesNodes);
  const done = (node) => {
    setRegistering(false);
    setRegistered(node);
  };
  return html`
    <h1>${t("nodes.title")}</h1>
    ${me.role === "admin" && html`<div class="toolbar">
      <button type="button" aria-expanded=${registering} onClick=${() => setRegistering(!registering)}>${t("nodes.register")}</button>
    </div>`}
    ${registering && html`<${RegisterForm} onDone=${done} onCancel=${() => setRegistering(false)} />`}
    ${registered && html`<${PollerToken} node=${registered} onClose=${() => setRegistered(null)} />`}
    ${nodes ? html`<${Fault} error=${error} /><${NodeTable} nodes=${nodes} staff=${me.role !== "user"} />` : html`<${Loading} error=${error} />`}`;
}

function NodeTable({ nodes, staff }) {
  const columns = [
    { key: "name", label: t("nodes.name"), render: (n) => html`<a href=${`#/nodes/${n.id}`}>${n.name}</a>` },
    { key: "hostname", label: t("nodes.hostname") },
    { key: "transport", label: t("nodes.transport") },
    { key: "vm_count", label: t("nodes.vms") },
    { key: "state", label: t("nodes.state"), value: nodeStateText, render: (n) => html`<${NodeState} node=${n} />` },
  ];
  if (staff) {
    columns.push(
      { key: "last_seen", label: t("nodes.lastSample"), render: (n) => when(n.last_seen) },
      { key: "poll_interval", label: t("nodes.pollInterval"), render: (n) => duration(n.poll_interval) },
    );
  }
  return html`<${Table} caption=${t("nodes.caption")} columns=${columns} rows=${nodes} empty=${t("nodes.none")} />`;
}

/** The transports a node may use: the built-in ones and those of enabled modules. */
function useTransports() {
  const { data: modules = [] } = useLive(() => rpc("module.list"), (e) => e.target_kind === "module");
  const fromModules = modules
    .filter((m) => m.enabled && m.provides?.transports?.length)
    .flatMap((m) => m.provides.transports.map((name) => ({ name, module: m.name })));
  return [...BUILT_IN_TRANSPORTS.map((name) => ({ name })), ...fromModules];
}

function RegisterForm({ onDone, onCancel }) {
  const transports = useTransports();
  const [transport, setTransport] = useState("libvirt");
  const action = useAction();
  const chosen = transports.find((tr) => tr.name === transport);
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const node = { name: form.get("name").trim(), hostname: form.get("hostname").trim(), transport, uri: form.get("uri").trim() };
    if (chosen?.module && !node.uri.startsWith(`${transport}:`)) return action.fail(t("nodes.uriPrefix", { name: transport }));
    action.run(async () => onDone({ ...node, ...(await rpc("node.register", node)) }));
  };
  const help = !chosen ? "" : chosen.module ? t("nodes.help.module", { module: chosen.module, name: chosen.name }) : t(`nodes.help.${chosen.name}`);
  return html`<h2 id="register-title">${t("nodes.register")}</h2>
  <form class="grid" aria-labelledby="register-title" onSubmit=${submit}>
    <${Field} id="node-name" label=${t("nodes.name")} name="name" required maxlength="64" autocomplete="off" />
    <${Field} id="node-hostname" label=${t("nodes.hostname")} name="hostname" required autocomplete="off" />
    <${Field} id="node-transport" label=${t("nodes.transport")} value=${transport} onChange=${(e) => setTransport(e.target.value)}>
      ${options(transports.map((tr) => [tr.name, tr.module ? t("nodes.moduleTransport", tr) : tr.name]))}
    <//>
    <p class="hint" id="node-transport-help">${help}</p>
    <${Field} id="node-uri" label=${t("nodes.uri")} name="uri" required autocomplete="off" aria-describedby="node-transport-help"
      placeholder=${chosen?.module ? `${transport}:` : t(`nodes.example.${transport}`)} />
    <${Submit} label=${t("nodes.registerSubmit")} busy=${action.busy}>
      <button type="button" onClick=${onCancel}>${t("nodes.cancel")}</button>
      <${Fault} error=${action.error} />
    <//>
  </form>`;
}

/** What the poller of a node just registered needs: its token, shown only this once. */
function PollerToken({ node, onClose }) {
  const command = `zentific-poller --server ${location.origin}/RPC2 --token ${node.poller_token}`;
  const localLibvirt = node.transport === "libvirt" && /^[\w+]+:\/\/\/.*/.test(node.uri);
  return html`<section class="notice" aria-labelledby="poller-token-title">
    <h2 id="poller-token-title">${t("nodes.tokenTitle", { name: node.name })}</h2>
    <p><strong>${t("nodes.tokenOnce")}</strong></p>
    <${Secret} id="poller-token" label=${t("nodes.token")} copyLabel=${t("nodes.copyToken")} text=${node.poller_token} />
    <p>${t("nodes.commandIntro", { hostname: node.hostname })}</p>
    <${Secret} id="poller-command" label=${t("nodes.command")} copyLabel=${t("nodes.copyCommand")} text=${command} />
    ${localLibvirt && html`<p class="muted">${t("nodes.commandLibvirt", { source: `--source libvirt:${node.uri}` })}</p>`}
    ${location.protocol === "https:" && html`<p class="muted">${t("nodes.commandTls")}</p>`}
    <p class="muted">${t("nodes.commandConfig")}</p>
    <button type="button" onClick=${onClose}>${t("nodes.tokenDone")}</button>
  </section>`;
}

/** A text to copy: in a pre.secret, with a Copy button (selecting it when copying fails). */
function Secret({ id, label, copyLabel, text }) {
  const [outcome, setOutcome] = useState("");
  const box = useRef(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setOutcome(t("nodes.copied"));
    } catch {
      getSelection().selectAllChildren(box.current);
      setOutcome(t("nodes.copyByHand"));
    }
  };
  return html`<div>
    <p class="muted" id=${`${id}-label`}>${label}</p>
    <pre class="secret" ref=${box} aria-labelledby=${`${id}-label`}>${text}</pre>
    <button type="button" aria-label=${copyLabel} onClick=${copy}>${t("nodes.copy")}</button>
    ${" "}<span role="status">${outcome}</span>
  </div>`;
}
