// Strings of the dashboard (views/home.js).
export default {
  home: {
    title: "Status",
    vms: "Virtual machines by state",
    nodes: "Nodes",
    usage: "Your usage",
    usageCaption: "What your VMs use, against your quota",
    resource: "Resource",
    used: "Used",
    errors: "Recent errors",
    noErrors: "No failed jobs, and every node answers.",
    silent: "its poller is silent",
    unreachable: "unreachable ({status})",
    failedJob: "Job {id} ({action}) failed",
    vm: "VM {id}",
    nodeVms: "{count} VMs",
    noSamples: "No statistics yet.",
  },
};
