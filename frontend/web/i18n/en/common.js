// Strings of the shell and of the pieces every view shares.
export default {
  loading: "Loading…",
  error: { unreachable: "Cannot reach the server: {reason}" },
  login: {
    title: "Log in",
    username: "User name",
    password: "Password",
    submit: "Log in",
    ended: "Your session ended: log in again.",
  },
  nav: {
    label: "Sections", skip: "Skip to content", home: "Home", vms: "Virtual Machines", nodes: "Nodes",
    users: "Users", config: "Configuration", logout: "Log out",
  },
  module: { pageGone: "This module's page is not available: the module was disabled." },
  role: { user: "user", operator: "operator", admin: "admin" },
  table: {
    empty: "Nothing to show.",
    selectAll: "Select all shown rows",
    select: "Select {name}",
    more: "Showing {shown} of {total} rows; more as you scroll.",
    showAll: "Show all {total}",
  },
  duration: { dh: "{d} d {h} h", hm: "{h} h {m} min", m: "{m} min", s: "{s} s" },
  graph: { nodeCpu: "CPU of the node's VMs (% of all CPUs)", nodeMem: "Memory used (MiB)" },
  state: {
    running: "running", idle: "idle", paused: "paused", stopped: "stopped", crashed: "crashed",
    unknown: "unknown",
  },
};
