import { launch, login, newPage } from "./browser.mjs";
const b = await launch(); const p = await newPage(b); await login(p, "admin", "bench-password");
const r = await p.evaluate(async () => {
  const { session, decodeResponse } = await import("/ui/rpc.js");
  const out = {};
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    const res = await fetch("/RPC2", { method: "POST", headers: { "Content-Type": "text/xml" }, body: `<?xml version="1.0"?><methodCall><methodName>vm.list</methodName><params><param><value><string>${session.token}</string></value></param></params></methodCall>` });
    const text = await res.text();
    out.fetch = performance.now() - t; t = performance.now();
    const doc = new DOMParser().parseFromString(text, "text/xml");
    out.parse = performance.now() - t; t = performance.now();
    decodeResponse(text);
    out.decodeAll = performance.now() - t;
  }
  return out;
});
console.log(r);
await b.close();
