// rpc.js: the page's XML-RPC client: POSTs of <methodCall> to /RPC2, a fault thrown as an
// RpcFault with its code, values mapped as the API documents (dateTime.iso8601 → a UTC Date,
// base64 → Uint8Array, nil → null). The token lives in memory and sessionStorage, never in a URL.

export class RpcFault extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const escape = (text) =>
  String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;");

/** The <value> XML of a JavaScript value. */
export function encode(value) {
  const typed = (type, text) => `<value><${type}>${text}</${type}></value>`;
  if (value === null || value === undefined) return "<value><nil/></value>";
  if (typeof value === "boolean") return typed("boolean", value ? 1 : 0);
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return typed("double", value);
    return typed(value >= -2147483648 && value <= 2147483647 ? "i4" : "i8", value);
  }
  if (typeof value === "string") return typed("string", escape(value));
  // 2026-12-01T23:20:26.000Z → 20261201T23:20:26 (UTC)
  if (value instanceof Date) return typed("dateTime.iso8601", value.toISOString().replace(/-|\.\d+Z$/g, ""));
  if (value instanceof Uint8Array) {
    let binary = "";
    for (const byte of value) binary += String.fromCharCode(byte);
    return typed("base64", btoa(binary));
  }
  if (Array.isArray(value)) return typed("array", `<data>${value.map(encode).join("")}</data>`);
  return typed("struct", Object.entries(value).map(([name, v]) => `<member><name>${escape(name)}</name>${encode(v)}</member>`).join(""));
}

/** The <methodCall> document of a call. */
export function callXml(method, params) {
  return `<?xml version="1.0"?><methodCall><methodName>${escape(method)}</methodName>` +
    `<params>${params.map((p) => `<param>${encode(p)}</param>`).join("")}</params></methodCall>`;
}

/** A scalar of XML-RPC type `type` from its text (undefined for other types). */
function scalar(type, text) {
  switch (type) {
    case "i4": case "int": case "i8": case "double": return Number(text);
    case "boolean": return text.trim() === "1";
    case "string": return text;
    case "dateTime.iso8601": return parseDate(text);
    case "base64": return Uint8Array.from(atob(text.replace(/\s/g, "")), (c) => c.charCodeAt(0));
  }
}

const children = (node) => Array.from(node.children);

/** The JavaScript value of a <value> element. */
function decodeValue(node) {
  const typed = children(node)[0];
  if (!typed) return node.textContent;
  const tag = typed.tagName;
  if (tag === "nil") return null;
  if (tag === "array") return children(children(typed)[0] || typed).map(decodeValue);
  if (tag === "struct") {
    return Object.fromEntries(children(typed).map((member) => {
      const [name, value] = children(member);
      return [name.textContent, decodeValue(value)];
    }));
  }
  const value = scalar(tag, typed.textContent);
  if (value === undefined) throw new Error(`unknown XML-RPC type <${tag}>`);
  return value;
}

/**
 * The result of a <methodResponse> document, or a thrown RpcFault. Read by a scanner of
 * the text (below): the browser's DOMParser takes about 200 ms for the 1 MB answer of a
 * 1,000-VM vm.list here, the scanner a tenth of that. Documents it does not take (CDATA,
 * a DOCTYPE, anything malformed) go to DOMParser, which also gives the errors.
 */
export function decodeResponse(text) {
  try {
    return scanResponse(text);
  } catch (e) {
    if (e instanceof RpcFault) throw e;
    return decodeResponseDom(text);
  }
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

function parseDate(text) {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(text.trim());
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : new Date(NaN);
}

/**
 * decodeResponse by scanning the text; throws NotScanned for what it does not take. Its
 * tokens are tags without attributes ("name", "/name" or "name/") and the text between.
 */
export function scanResponse(text) {
  let at = 0;
  const fail = (why) => {
    throw new NotScanned(why);
  };
  // The next token, {tag} or {text}, or undefined at the end.
  const next = () => {
    if (at >= text.length) return undefined;
    if (text[at] !== "<") {
      const end = text.indexOf("<", at);
      const chunk = text.slice(at, end < 0 ? text.length : end);
      at = end < 0 ? text.length : end;
      return { text: chunk };
    }
    const end = text.indexOf(">", at);
    if (end < 0) fail("unclosed tag");
    const tag = text.slice(at + 1, end);
    at = end + 1;
    if (tag[0] === "?") return next(); // the XML declaration
    if (tag[0] === "!") fail(tag); // comments, CDATA, DOCTYPE
    return { tag: tag.trim() };
  };
  // The next tag, past whitespace between elements.
  const tag = () => {
    let token = next();
    if (token?.text?.trim() === "") token = next();
    return token?.tag ?? fail("text where an element belongs");
  };
  const expect = (name) => tag() === name || fail(`<${name}> expected`);
  // The text of the element `name` (its start tag read) up to its end tag.
  const textOf = (name) => {
    const token = next();
    if (token?.tag === `/${name}`) return "";
    if (token?.text === undefined) fail(`an element in <${name}>`);
    expect(`/${name}`);
    return unescape(token.text);
  };
  // The value after a <value> tag, up to its end tag.
  const value = () => {
    let token = next();
    if (token?.text !== undefined) {
      const following = next();
      if (following?.tag === "/value") return unescape(token.text); // untyped: a string
      if (token.text.trim()) fail("text beside a typed value");
      token = following;
    }
    const type = token?.tag ?? fail("early end");
    if (type === "/value") return "";
    let out;
    if (type.endsWith("/")) {
      out = { "nil/": null, "string/": "", "struct/": {}, "base64/": new Uint8Array() }[type.replace(/\s+/g, "")];
      if (out === undefined) fail(`<${type}>`);
    } else if (type === "nil") {
      expect("/nil");
      out = null;
    } else if (type === "array") {
      out = [];
      let inner = tag();
      if (inner === "data") {
        for (inner = tag(); inner === "value"; inner = tag()) out.push(value());
        if (inner !== "/data") fail(`<${inner}> in <data>`);
      } else if (inner !== "data/") fail(`<${inner}> in <array>`);
      expect("/array");
    } else if (type === "struct") {
      out = {};
      let inner;
      for (inner = tag(); inner === "member"; inner = tag()) {
        expect("name");
        const name = textOf("name");
        expect("value");
        out[name] = value();
        expect("/member");
      }
      if (inner !== "/struct") fail(`<${inner}> in <struct>`);
    } else {
      const text = textOf(type);
      out = scalar(type, text);
      if (out === undefined || (typeof out === "number" && (!text.trim() || Number.isNaN(out)))) fail(`<${type}>${text}`);
    }
    expect("/value");
    return out;
  };
  expect("methodResponse");
  const kind = tag();
  if (kind !== "params" && kind !== "fault") fail(`<${kind}> in <methodResponse>`);
  if (kind === "params") expect("param");
  expect("value");
  const result = value();
  if (kind === "params") expect("/param");
  expect(`/${kind}`);
  expect("/methodResponse");
  for (let token = next(); token; token = next()) if (token.tag || token.text.trim()) fail("after the end");
  if (kind === "fault") throw new RpcFault(result.faultCode, result.faultString);
  return result;
}

/** Call `method` with `params` on /RPC2. */
export async function call(method, ...params) {
  const response = await fetch("/RPC2", { method: "POST", headers: { "Content-Type": "text/xml" }, body: callXml(method, params) });
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

/** A call of the session (its token first). */
export const rpc = (method, ...params) => session.rpc(method, ...params);
