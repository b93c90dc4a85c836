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
    case "dateTime.iso8601": {
      const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(text.trim());
      return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : new Date(NaN);
    }
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

/** The result of a <methodResponse> document, or a thrown RpcFault. */
export function decodeResponse(text) {
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
  token: sessionStorage.getItem(TOKEN_KEY),
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
