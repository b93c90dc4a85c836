// The English catalogue, complete: one JSON part per area of the page (common: the shell
// and shared pieces; home, vms, vm, console, nodes, users, config: their views), nested by
// the dots of the keys ("vm.tab.log" is vm: { tab: { log } }). Catalogues are JSON, data
// that cannot run: another language is i18n/<code>.js importing its parts the same way
// (keys it lacks fall back to these).
import common from "./en/common.json" with { type: "json" };
import config from "./en/config.json" with { type: "json" };
import consoles from "./en/console.json" with { type: "json" };
import home from "./en/home.json" with { type: "json" };
import nodes from "./en/nodes.json" with { type: "json" };
import users from "./en/users.json" with { type: "json" };
import vm from "./en/vm.json" with { type: "json" };
import vms from "./en/vms.json" with { type: "json" };

/** A nested catalogue as [flat key, string] pairs. */
export const flatten = (part, prefix = "") =>
  Object.entries(part).flatMap(([key, value]) => (typeof value === "string" ? [[prefix + key, value]] : flatten(value, `${prefix}${key}.`)));

export default Object.fromEntries([common, home, vms, vm, consoles, nodes, users, config].flatMap((part) => flatten(part)));
