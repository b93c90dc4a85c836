// The page's XML-RPC client (web/rpc.js): calls it writes, answers it reads — its scanner
// in Node, and in Chromium the scanner against the browser's own XML parser on the real
// server's answers.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RpcFault, callXml, encode, scanResponse } from "../web/rpc.js";
import { BASE, launch, login, newPage } from "./browser.mjs";

const answer = (value) => `<?xml version="1.0"?>\n<methodResponse><params><param>${value}</param></params></methodResponse>`;

test("every type is read, with entities, untyped strings and empty values", () => {
  const doc = answer(`<value><struct>
    <member><name>int</name><value><i4>-7</i4></value></member>
    <member><name>i8</name><value><i8>9007199254740991</i8></value></member>
    <member><name>plain int</name><value><int>42</int></value></member>
    <member><name>double</name><value><double>-0.5</double></value></member>
    <member><name>yes</name><value><boolean>1</boolean></value></member>
    <member><name>no</name><value><boolean>0</boolean></value></member>
    <member><name>text</name><value><string>&lt;img src=x onerror=alert(1)&gt; &amp; &#233;&#x1F600;</string></value></member>
    <member><name>untyped</name><value>bare &quot;words&quot;</value></member>
    <member><name>empty</name><value></value></member>
    <member><name>empty string</name><value><string/></value></member>
    <member><name>nil</name><value><nil/></value></member>
    <member><name>when</name><value><dateTime.iso8601>20261201T23:20:26</dateTime.iso8601></value></member>
    <member><name>bytes</name><value><base64>AAEC/w==</base64></value></member>
    <member><name>list</name><value><array><data><value><i4>1</i4></value><value><array><data/></array></value></data></array></value></member>
    <member><name>&lt;odd&gt; name</name><value><struct></struct></value></member>
  </struct></value>`);
  assert.deepEqual(scanResponse(doc), {
    int: -7,
    i8: 9007199254740991,
    "plain int": 42,
    double: -0.5,
    yes: true,
    no: false,
    text: "<img src=x onerror=alert(1)> & é😀",
    untyped: 'bare "words"',
    empty: "",
    "empty string": "",
    nil: null,
    when: new Date(Date.UTC(2026, 11, 1, 23, 20, 26)),
    bytes: new Uint8Array([0, 1, 2, 255]),
    list: [1, []],
    "<odd> name": {},
  });
});

test("a fault is thrown with its code and words", () => {
  const doc = `<?xml version="1.0"?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>6</int></value></member><member><name>faultString</name><value><string>over the quota</string></value></member></struct></value></fault></methodResponse>`;
  assert.throws(() => scanResponse(doc), (e) => e instanceof RpcFault && e.code === 6 && e.message === "over the quota");
});

test("what the scanner does not take is refused, never misread", () => {
  for (const doc of [
    answer("<value><i4>1</i4>"), // cut short
    answer("<value><i4>one</i4></value>"),
    answer("<value><struct><member><value><i4>1</i4></value><name>x</name></member></struct></value>"),
    answer("<value><string><![CDATA[x]]></string></value>"),
    answer("<value><mystery>1</mystery></value>"),
    answer("<value><string>&unknown;</string></value>"),
    answer("<value><i4>1</i4></value>") + "<extra/>",
    "<methodResponse><params><param><value><i4>1</i4></value></param></params>",
    "not xml at all",
  ]) {
    assert.throws(() => scanResponse(doc), (e) => !(e instanceof RpcFault), doc);
  }
});

test("calls are written with their values escaped", () => {
  assert.equal(
    callXml("vm.setNotes", ["tok", 3, "<b>&</b>"]),
    '<?xml version="1.0"?><methodCall><methodName>vm.setNotes</methodName><params><param><value><string>tok</string></value></param><param><value><i4>3</i4></value></param><param><value><string>&lt;b&gt;&amp;&lt;/b&gt;</string></value></param></params></methodCall>',
  );
  assert.equal(encode(2 ** 40), "<value><i8>1099511627776</i8></value>");
  assert.equal(encode(null), "<value><nil/></value>");
  assert.equal(encode({ a: [true, 1.5] }), "<value><struct><member><name>a</name><value><array><data><value><boolean>1</boolean></value><value><double>1.5</double></value></data></array></value></member></struct></value>");
});

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("in Chromium, the scanner reads the server's answers as the browser's XML parser does", async () => {
  const page = await newPage(browser);
  await login(page);
  const differences = await page.evaluate(async () => {
    const { callXml, decodeResponseDom, scanResponse, session } = await import("/ui/rpc.js");
    const calls = [["vm.list"], ["node.list"], ["user.list"], ["module.list"], ["config.describe"], ["job.list", {}], ["vm.get", 999999], ["audit.list", {}]];
    const out = [];
    for (const [method, ...params] of calls) {
      const text = await (await fetch("/RPC2", { method: "POST", headers: { "Content-Type": "text/xml" }, body: callXml(method, [session.token, ...params]) })).text();
      const read = (f) => { try { return JSON.stringify(f(text)); } catch (e) { return `fault ${e.code} ${e.message}`; } };
      if (read(scanResponse) !== read(decodeResponseDom)) out.push(method);
    }
    return out;
  });
  assert.deepEqual(differences, []);
});
