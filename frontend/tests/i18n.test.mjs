// The catalogue: every key the page's code asks for with a literal t("…") exists in the
// English catalogue, every English string is used or built from a prefix, and
// placeholders in use are the ones the string has. (No browser needed.)
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import en from "../web/i18n/en.js";

const web = new URL("../web/", import.meta.url).pathname;
const sources = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "i18n") walk(path);
    } else if (name.endsWith(".js")) sources.push([path.slice(web.length), readFileSync(path, "utf8")]);
  }
};
walk(web);

test("the catalogues are JSON: data a translator sends cannot run in the page", () => {
  const i18n = join(web, "i18n");
  for (const language of readdirSync(i18n).filter((name) => statSync(join(i18n, name)).isDirectory())) {
    for (const name of readdirSync(join(i18n, language))) {
      assert.ok(name.endsWith(".json"), `i18n/${language}/${name} is not JSON`);
      const strings = (part) => Object.values(part).every((v) => typeof v === "string" || (typeof v === "object" && v && strings(v)));
      assert.ok(strings(JSON.parse(readFileSync(join(i18n, language, name), "utf8"))), `i18n/${language}/${name} holds only strings`);
    }
  }
});

test("every literal key the page uses is in the English catalogue", () => {
  const missing = [];
  for (const [file, text] of sources) {
    for (const [, key] of text.matchAll(/\bt\("([\w.-]+)"/g)) {
      if (!(key in en)) missing.push(`${file}: ${key}`);
    }
  }
  assert.deepEqual(missing, []);
});

test("the keys built at run time have their strings", () => {
  // t(`state.${state}`) and the like: the prefixes in use, and the words they take.
  for (const state of ["running", "idle", "paused", "stopped", "crashed", "unknown"]) assert.ok(`state.${state}` in en, state);
  for (const role of ["user", "operator", "admin"]) assert.ok(`role.${role}` in en, role);
  for (const [, prefix] of sources.flatMap(([, text]) => [...text.matchAll(/\bt\(`([\w.]+)\.\$\{/g)])) {
    assert.ok(Object.keys(en).some((key) => key.startsWith(`${prefix}.`)), `no strings for t(\`${prefix}.…\`)`);
  }
});

test("values given to a string are placeholders it has", () => {
  const wrong = [];
  for (const [file, text] of sources) {
    for (const [, key, values] of text.matchAll(/\bt\("([\w.-]+)",\s*\{([^}]*)\}/g)) {
      if (!(key in en)) continue;
      for (const [, name] of values.matchAll(/(?:^|,)\s*(\w+)\s*(?=[:,]|$)/g)) {
        if (!en[key].includes(`{${name}}`)) wrong.push(`${file}: ${key} has no {${name}}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});
