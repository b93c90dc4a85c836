// dom0health's page: every node's newest dom0 figures, from dom0health.get.
// The page gets `rpc(method, ...params)` (the session's token is added for it) and the
// element to render into.
export async function render(root, { rpc }) {
  const nodes = await rpc("node.list");
  const table = document.createElement("table");
  table.className = "dom0health";
  const head = table.createTHead().insertRow();
  for (const title of ["Node", "Load (1/5/15 min)", "Memory used", "Memory pressure", "Filesystems", "As of"]) {
    const th = document.createElement("th");
    th.textContent = title;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const node of nodes) {
    const figures = await rpc("dom0health.get", node.id);
    const m = figures.metrics || {};
    const get = (name, digits = 2) => (name in m ? Number(m[name]).toFixed(digits) : "–");
    const filesystems = Object.keys(m)
      .filter((k) => k.startsWith("dom0health.fs."))
      .map((k) => `${k.slice("dom0health.fs.".length, -".used_pct".length)} ${get(k, 0)} %`)
      .join(", ");
    const row = body.insertRow();
    for (const text of [
      node.name,
      `${get("dom0health.load.1")} / ${get("dom0health.load.5")} / ${get("dom0health.load.15")}`,
      `${get("dom0health.mem.used_pct", 0)} %`,
      `${get("dom0health.mem.pressure_some10")} %`,
      filesystems || "–",
      figures.time ? new Date(figures.time).toLocaleString() : "no figures yet",
    ]) {
      row.insertCell().textContent = text;
    }
  }
  root.replaceChildren(table);
}
