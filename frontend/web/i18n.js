// i18n.js: every string the page shows goes through t(key, values), each {name} in it
// filled in from values. The catalogues are in i18n/, one per language (English is
// complete; a key missing from another language falls back to English).
import en, { flatten } from "./i18n/en.js";

/** Languages with a catalogue: code → the language's own name. */
export const LANGUAGES = { en: "English" };

let catalogue = en;
let current = "en";

/** Switch to `code` (a user's language setting); unknown languages stay on English. */
export async function setLanguage(code) {
  const base = String(code || "en").toLowerCase().split(/[-_]/)[0];
  if (!(base in LANGUAGES) || base === "en") {
    catalogue = en;
    current = "en";
  } else {
    catalogue = { ...en, ...Object.fromEntries(flatten((await import(`./i18n/${base}.js`)).default)) };
    current = base;
  }
  document.documentElement.lang = current;
}

/** The string of `key`, each {name} in it replaced by `values[name]`. */
export function t(key, values = {}) {
  const text = catalogue[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}
