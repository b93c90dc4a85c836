// The English catalogue, complete: one part per area of the page. Another language is
// i18n/<code>.js with the same keys (missing ones fall back to these).
import common from "./en/common.js";
import config from "./en/config.js";
import home from "./en/home.js";
import nodes from "./en/nodes.js";
import users from "./en/users.js";
import vm from "./en/vm.js";
import vms from "./en/vms.js";

export default { ...common, ...home, ...vms, ...vm, ...nodes, ...users, ...config };
