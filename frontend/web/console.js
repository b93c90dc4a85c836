// console.js: a VM's console, the page /ui/console.html?vm=ID[&kind=vnc|text], shown in
// the VM's Console tab (a frame) and on its own in a new window. It asks vm.console for a
// ticket, opens the websocket at the ticket's path and shows the console: noVNC for the
// graphical one, xterm.js for the text one. Its own page because xterm.js writes <style>
// elements, which the main page's policy refuses; this page allows them and nothing else.
import RFB from "/ui/vendor/@novnc/novnc/core/rfb.js";
import { Terminal } from "/ui/vendor/@xterm/xterm/lib/xterm.mjs";
import { t } from "./i18n.js";
import { RpcFault, rpc, session } from "./rpc.js";

const query = new URLSearchParams(location.search);
const vmId = Number(query.get("vm"));
const askedKind = query.get("kind") || undefined;
const root = document.getElementById("console");

/** An element with properties (`on…` become listeners) and children. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key in node && key !== "role") node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/** The X keysym that types a character: Latin-1 as itself, Return, Tab, else Unicode's. */
export function keysym(ch) {
  const code = ch.codePointAt(0);
  if (ch === "\n") return 0xff0d;
  if (ch === "\t") return 0xff09;
  if ((code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff)) return code;
  return 0x01000000 + code;
}

const faultText = (error) => (error instanceof RpcFault ? error.message : t("error.unreachable", { reason: error.message }));

async function start() {
  if (!session.token) {
    root.replaceChildren(el("p", { className: "notice", role: "note" }, t("console.loggedOut"), " ", el("a", { href: "/" }, t("console.logIn"))));
    return;
  }
  let vm;
  try {
    vm = await rpc("vm.get", vmId);
  } catch (error) {
    root.replaceChildren(el("p", { className: "error", role: "alert" }, faultText(error)));
    return;
  }
  document.title = t("console.windowTitle", { name: vm.name });
  const status = el("p", { role: "status" });
  const screen = el("div", { className: "console-screen", role: "application", "aria-label": t("console.screen", { name: vm.name }) });
  const text = el("textarea", { id: "console-text", rows: 2 });
  let current = null; // {kind, send(bytes), keys(text), ctrlAltDel(), close()}
  const buttons = {
    ctrlAltDel: el("button", { type: "button", onClick: () => current?.ctrlAltDel() }, t("console.ctrlAltDel")),
    fullscreen: el("button", { type: "button", onClick: () => screen.requestFullscreen?.() }, t("console.fullscreen")),
    disconnect: el("button", { type: "button", onClick: () => end(t("console.disconnected")) }, t("console.disconnect")),
    connect: el("button", { type: "button", className: "primary", onClick: () => connect() }, t("console.connect")),
    paste: el("button", { type: "button", onClick: () => current?.keys(text.value) }, t("console.paste")),
  };
  const scale = el("input", { type: "checkbox", checked: true, onChange: () => current?.scale?.(scale.checked) });
  const scaleLabel = el("label", { className: "check" }, scale, " ", t("console.scale"));
  const controls = el("div", { className: "toolbar", role: "group", "aria-label": t("console.controls") },
    buttons.ctrlAltDel, buttons.fullscreen, scaleLabel, buttons.disconnect, buttons.connect);
  if (window.top !== window) {
    controls.append(el("button", { type: "button", onClick: () => window.open(location.href, `console-${vmId}`, "popup,width=1100,height=860") }, t("console.newWindow")));
  }
  root.replaceChildren(
    el("h1", { className: "console-title" }, t("console.windowTitle", { name: vm.name })),
    controls, status, screen,
    el("div", { className: "console-paste" }, el("label", { htmlFor: "console-text" }, t("console.pasteText")), text, buttons.paste),
  );

  /** Show where the console is: connecting, connected (controls on), or ended. */
  function show(state, message) {
    const connected = state === "connected";
    status.textContent = message ?? t(`console.${state}`);
    status.className = state === "ended" ? "" : "muted";
    buttons.ctrlAltDel.disabled = !connected || current?.kind !== "vnc";
    buttons.fullscreen.disabled = !connected;
    buttons.paste.disabled = !connected;
    buttons.disconnect.hidden = state === "ended";
    buttons.connect.hidden = state !== "ended";
    scaleLabel.hidden = current?.kind === "text";
  }

  function end(message) {
    const was = current;
    current = null;
    was?.close();
    show("ended", message);
  }

  async function connect() {
    current?.close();
    current = null;
    screen.replaceChildren();
    show("connecting");
    let ticket;
    try {
      ticket = await rpc("vm.console", vmId, ...(askedKind ? [askedKind] : []));
    } catch (error) {
      return show("ended", faultText(error));
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${ticket.path}?ticket=${ticket.ticket}`, ["binary"]);
    socket.binaryType = "arraybuffer";
    let opened = false;
    socket.addEventListener("open", () => (opened = true));
    const mine = ticket.kind === "vnc" ? graphical(socket) : textual(socket);
    current = mine;
    socket.addEventListener("close", (e) => {
      if (current !== mine) return;
      current = null;
      show("ended", e.reason || (opened ? t("console.closed") : t("console.refused")));
    });
  }

  /** The graphical console: noVNC on the socket. */
  function graphical(socket) {
    const rfb = new RFB(screen, socket, { shared: true });
    rfb.scaleViewport = scale.checked;
    rfb.addEventListener("connect", () => show("connected"));
    return {
      kind: "vnc",
      keys: (typed) => [...typed].forEach((ch) => rfb.sendKey(keysym(ch), null)),
      ctrlAltDel: () => rfb.sendCtrlAltDel(),
      scale: (on) => (rfb.scaleViewport = on),
      close: () => rfb.disconnect(),
    };
  }

  /** The text console: xterm.js, bytes both ways. */
  function textual(socket) {
    const terminal = new Terminal({ convertEol: false, cursorBlink: true, fontSize: 14, scrollback: 5000 });
    terminal.open(screen);
    const encoder = new TextEncoder();
    const send = (data) => socket.readyState === WebSocket.OPEN && socket.send(encoder.encode(data));
    terminal.onData(send);
    socket.addEventListener("open", () => {
      show("connected");
      terminal.focus();
    });
    socket.addEventListener("message", (e) => terminal.write(new Uint8Array(e.data)));
    return {
      kind: "text",
      keys: send,
      ctrlAltDel: () => {},
      close: () => {
        socket.close();
        terminal.dispose();
      },
    };
  }

  connect();
}

start();
