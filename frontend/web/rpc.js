// rpc.js: the page's XML-RPC client. Every action is a POST of a <methodCall> to /RPC2;
// a fault becomes a thrown RpcFault with its code. Values map as the API documents them:
// int and i8 → Number, boolean → Boolean, string → String, double → Number,
// dateTime.iso8601 → Date (UTC), base64 → Uint8Array, struct → Object, array → Array,
// nil → null. The token lives in memory and sessionStorage, never in a URL.

export class RpcFault extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const escape = (text) =>
  String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;");

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** The <value> XML of a JavaScript value. */
export function encode(value) {
  if (value === null || value === undefined) return "<value><nil/></value>";
  if (typeof value === "boolean") return `<value><boolean>${value ? 1 : 0}</boolean></value>`;
  if (typeof value === "number") {
    if (Number.isInteger(value)) {
      const type = value >= -2147483648 && value <= 2147483647 ? "i4" : "i8";
      return `<value><${type}>${value}</${type}></value>`;
    }
    return `<value><double>${value}</double></value>`;
  }
  if (typeof value === "string") return `<value><string>${escape(value)}</string></value>`;
  if (value instanceof Date) {
    const d = value;
    const text = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    return `<value><dateTime.iso8601>${text}</dateTime.iso8601></value>`;
  }
  if (value instanceof Uint8Array) {
    let binary = "";
    for (const byte of value) binary += String.fromCharCode(byte);
    return `<value><base64>${btoa(binary)}</base64></value>`;
  }
  if (Array.isArray(value)) return `<value><array><data>${value.map(encode).join("")}</data></array></value>`;
  const members = Object.entries(value)
    .map(([name, v]) => `<member><name>${escape(name)}</name>${encode(v)}</member>`)
    .join("");
  return `<value><struct>${members}</struct></value>`;
}

/** The <methodCall> document of a call. */
export function callXml(method, params) {
  return `<?xml version="1.0"?><methodCall><methodName>${escape(method)}</methodName>` +
    `<params>${params.map((p) => `<param>${encode(p)}</param>`).join("")}</params></methodCall>`;
}

const children = (node) => Array.from(node.children);

/** The JavaScript value of a <value> element. */
export function decodeValue(node) {
  const typed = children(node)[0];
  if (!typed) return node.textContent;
  const text = typed.textContent;
  switch (typed.tagName) {
    case "i4": case "int": case "i8": case "double": return Number(text);
    case "boolean": return text.trim() === "1";
    case "string": return text;
    case "nil": return null;
    case "dateTime.iso8601": return parseDate(text);
    case "base64": return Uint8Array.from(atob(text.replace(/\s/g, "")), (c) => c.charCodeAt(0));
    case "array": return children(children(typed)[0] || typed).map(decodeValue);
    case "struct": {
      const out = {};
      for (const member of children(typed)) {
        const [name, value] = children(member);
        out[name.textContent] = decodeValue(value);
      }
      return out;
    }
    default: throw new Error(`unknown XML-RPC type <${typed.tagName}>`);
  }
}

/**
 * The result of a <methodResponse> document, or a thrown RpcFault. Read by a scanner of
 * the text (below): the browser's DOMParser takes about 200 ms for the 1 MB answer of a
 * 1,000-VM vm.list here, the scanner a tenth of that. Documents it does not take (CDATA,
 * a DOCTYPE, anything malformed) go to DOMParser, which also gives the errors.
 */
export function decodeResponse(text) {
  let result;
  try {
    result = scanResponse(text);
  } catch (e) {
    if (e instanceof RpcFault) throw e;
    return decodeResponseDom(text);
  }
  return result;
}

/** decodeResponse through the browser's XML parser. */
export function decodeResponseDom(text) {
  const doc = new DOMParser().parseFromString(text, "text/xml");
  if (doc.querySelector("parsererror")) throw new Error("the server's answer is not XML");
  const fault = doc.querySelector("methodResponse > fault > value");
  if (fault) {
    const { faultCode, faultString } = decodeValue(fault);
    throw new RpcFault(faultCode, faultString);
  }
  const value = doc.querySelector("methodResponse > params > param > value");
  if (!value) throw new Error("the server's answer holds no value");
  return decodeValue(value);
}

class NotScanned extends Error {}

const ENTITIES = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const unescape = (text) =>
  text.indexOf("&") < 0
    ? text
    : text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|\w+);/g, (whole, name) => {
        if (name[0] === "#") return String.fromCodePoint(name[1] === "x" ? parseInt(name.slice(2), 16) : Number(name.slice(1)));
        if (name in ENTITIES) return ENTITIES[name];
        throw new NotScanned(whole);
      });

/** The tokens of an XML text: tags (without their brackets) and the text between them. */
function tokens(text) {
  let at = 0;
  return {
    /** The next token: {tag} or {text}; undefined at the end. */
    next() {
      for (;;) {
        if (at >= text.length) return undefined;
        if (text[at] === "<") {
          const end = text.indexOf(">", at);
          if (end < 0) throw new NotScanned("unclosed tag");
          const tag = text.slice(at + 1, end);
          at = end + 1;
          if (tag[0] === "?") continue; // the XML declaration
          if (tag[0] === "!") throw new NotScanned(tag); // comments, CDATA, DOCTYPE
          return { tag: tag.trim() };
        }
        const end = text.indexOf("<", at);
        const chunk = text.slice(at, end < 0 ? text.length : end);
        at = end < 0 ? text.length : end;
        return { text: chunk };
      }
    },
    /** The next tag, skipping whitespace between elements. */
    tag() {
      for (;;) {
        const token = this.next();
        if (!token) throw new NotScanned("early end");
        if (token.tag !== undefined) return token.tag;
        if (token.text.trim()) throw new NotScanned("text where an element belongs");
      }
    },
    expect(name) {
      const tag = this.tag();
      if (tag !== name) throw new NotScanned(`<${tag}> where <${name}> belongs`);
    },
    /** The text up to the closing tag `name` (empty when there is none). */
    textUntil(name) {
      const token = this.next();
      if (token?.tag === `/${name}`) return "";
      if (token?.text === undefined) throw new NotScanned(`<${token?.tag}> inside <${name}>`);
      this.expect(`/${name}`);
      return unescape(token.text);
    },
  };
}

/** The value after a <value> tag (the tokens stand after it). */
function scanValue(c) {
  let token = c.next();
  if (token?.text !== undefined) {
    const following = c.next();
    if (following?.tag === "/value") return unescape(token.text); // untyped: a string
    if (token.text.trim()) throw new NotScanned("text beside a typed value");
    token = following;
  }
  const tag = token?.tag;
  if (tag === undefined) throw new NotScanned("early end");
  if (tag === "/value") return "";
  if (tag.endsWith("/")) {
    const empty = { "nil/": null, "string/": "", "struct/": {}, "base64/": new Uint8Array() }[tag.replace(/\s+/g, "")];
    if (empty === undefined) throw new NotScanned(`<${tag}>`);
    c.expect("/value");
    return empty;
  }
  let value;
  switch (tag) {
    case "i4": case "int": case "i8": case "double": {
      const text = c.textUntil(tag).trim();
      value = Number(text);
      if (text === "" || Number.isNaN(value)) throw new NotScanned(`bad number ${text}`);
      break;
    }
    case "boolean": value = c.textUntil(tag).trim() === "1"; break;
    case "string": value = c.textUntil(tag); break;
    case "nil": c.expect("/nil"); value = null; break;
    case "dateTime.iso8601": value = parseDate(c.textUntil(tag)); break;
    case "base64": value = Uint8Array.from(atob(c.textUntil(tag).replace(/\s/g, "")), (ch) => ch.charCodeAt(0)); break;
    case "array": {
      value = [];
      let inner = c.tag();
      if (inner === "data/") {
        c.expect("/array");
        break;
      }
      if (inner !== "data") throw new NotScanned(`<${inner}> in <array>`);
      for (inner = c.tag(); inner === "value"; inner = c.tag()) value.push(scanValue(c));
      if (inner !== "/data") throw new NotScanned(`<${inner}> in <data>`);
      c.expect("/array");
      break;
    }
    case "struct": {
      value = {};
      let inner;
      for (inner = c.tag(); inner === "member"; inner = c.tag()) {
        c.expect("name");
        const name = c.textUntil("name");
        c.expect("value");
        value[name] = scanValue(c);
        c.expect("/member");
      }
      if (inner !== "/struct") throw new NotScanned(`<${inner}> in <struct>`);
      break;
    }
    default: throw new NotScanned(`unknown type <${tag}>`);
  }
  c.expect("/value");
  return value;
}

function parseDate(text) {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(text.trim());
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : new Date(NaN);
}

/** decodeResponse by scanning; throws NotScanned for what it does not take. */
export function scanResponse(text) {
  const c = tokens(text);
  c.expect("methodResponse");
  const kind = c.tag();
  let value;
  if (kind === "fault") {
    c.expect("value");
    value = scanValue(c);
    c.expect("/fault");
  } else if (kind === "params") {
    c.expect("param");
    c.expect("value");
    value = scanValue(c);
    c.expect("/param");
    c.expect("/params");
  } else throw new NotScanned(`<${kind}> in <methodResponse>`);
  c.expect("/methodResponse");
  for (let token = c.next(); token; token = c.next()) {
    if (token.tag !== undefined || token.text.trim()) throw new NotScanned("after the end");
  }
  if (kind === "fault") throw new RpcFault(value.faultCode, value.faultString);
  return value;
}

/** Call `method` with `params` on /RPC2. */
export async function call(method, ...params) {
  const response = await fetch("/RPC2", {
    method: "POST",
    headers: { "Content-Type": "text/xml" },
    body: callXml(method, params),
  });
  return decodeResponse(await response.text());
}

const TOKEN_KEY = "zentific.token";

/** The session: the token in memory and sessionStorage, and calls that add it. */
export const session = {
  token: globalThis.sessionStorage?.getItem(TOKEN_KEY) ?? null,
  async login(username, password) {
    this.token = await call("session.login", username, password);
    sessionStorage.setItem(TOKEN_KEY, this.token);
  },
  async logout() {
    const token = this.token;
    this.forget();
    if (token) await call("session.logout", token).catch(() => {});
  },
  forget() {
    this.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
  },
  /** A call with the session's token first; fault 1 (not authenticated) ends the session. */
  async rpc(method, ...params) {
    try {
      return await call(method, this.token, ...params);
    } catch (e) {
      if (e instanceof RpcFault && e.code === 1) {
        this.forget();
        dispatchEvent(new Event("zentific:logged-out"));
      }
      throw e;
    }
  },
};
