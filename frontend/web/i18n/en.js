// The English catalogue, complete: one part per area of the page, nested by the dots of
// the keys ("vm.tab.log" is vm: { tab: { log } }). Another language is i18n/<code>.js
// made the same way (keys it lacks fall back to these).
import common from "./en/common.js";
import config from "./en/config.js";
import consoles from "./en/console.js";
import home from "./en/home.js";
import nodes from "./en/nodes.js";
import users from "./en/users.js";
import vm from "./en/vm.js";
import vms from "./en/vms.js";

/** A nested catalogue as [flat key, string] pairs. */
export const flatten = (part, prefix = "") =>
  Object.entries(part).flatMap(([key, value]) => (typeof value === "string" ? [[prefix + key, value]] : flatten(value, `${prefix}${key}.`)));

export default Object.fromEntries([common, home, vms, vm, consoles, nodes, users, config].flatMap((part) => flatten(part)));
