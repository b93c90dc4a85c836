//! `node.*`: registering the hypervisor hosts Zentific manages.

use dxr::{Fault, Value};
use zentific_sql::{NewNode, Node, NodeUpdate, Role, Transport};

use crate::fault::{self, ApiFault, from_store};
use crate::params::{Record, array, done, fields, int};
use crate::registry::{Access, Ctx, Method, TOKEN, Type, Work, param};

fn node_record(node: &Node) -> Value {
    let record = Record::new()
        .int("id", node.id)
        .string("name", &node.name)
        .string("hostname", &node.hostname)
        .string("transport", node.transport.as_str())
        .time("created", node.created_at)
        .int("vm_count", i32::try_from(node.vm_count).unwrap_or(i32::MAX))
        .bool("reachable", node.reachable)
        .opt_time("synced", node.synced_at);
    // The store leaves the URI out for plain users, and the operational details with it.
    match &node.uri {
        Some(uri) => record
            .string("uri", uri)
            .string("status", &node.status_detail)
            .opt_time("last_seen", node.last_seen)
            .opt_int("poll_interval", node.poll_interval)
            .bool("silent", silent(node)),
        None => record,
    }
    .build()
}

/// A node whose poller pushed before but missed three intervals.
fn silent(node: &Node) -> bool {
    match (node.last_seen, node.poll_interval) {
        (Some(seen), Some(interval)) => zentific_sql::now() - seen > 3 * i64::from(interval.max(1)),
        _ => false,
    }
}

fn transport(ctx: &Ctx<'_>, value: Option<String>) -> Result<Option<Transport>, Fault> {
    let transport = transport_named(value)?;
    if let Some(Transport::Module(name)) = &transport {
        let host = ctx.registry.modules().ok_or_else(|| {
            fault::invalid_value(
                "transport",
                format!("{name} is not libvirt, ssh or xenapi, and this server loads no modules"),
            )
        })?;
        host.transport_module(name)
            .map_err(|why| fault::invalid_value("transport", why))?;
    }
    Ok(transport)
}

fn transport_named(value: Option<String>) -> Result<Option<Transport>, Fault> {
    value
        .map(|t| Transport::parse(&t, "transport").map_err(from_store))
        .transpose()
}

pub(super) const METHODS: &[Method] = &[
    Method {
        name: "node.list",
        help: "Every node as {id, name, hostname, transport, created, vm_count, reachable, synced?} and, for operators and admins, {uri, status, last_seen?, poll_interval?, silent}: reachable is false (status says why) when the scheduler last failed to reach it; synced is when its inventory was last read; last_seen is its poller's last push, and silent is true once the poller missed three intervals. The uri never includes its user or password, which are stored apart and never returned.",
        params: &[TOKEN],
        returns: Type::Array,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: list,
    },
    Method {
        name: "node.get",
        help: "One node. Fault 3 when there is no such node.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::Struct,
        access: Access::Session(Role::User),
        vm_param: None,
        work: Work::Read,
        handler: get,
    },
    Method {
        name: "node.register",
        help: "Register a node from {name, hostname, transport, uri}; transport is libvirt (any libvirt URI), ssh (ssh://[user@]host[:port], the xl toolstack), xenapi (https://user:password@host) or the transport of an enabled module (module.list shows what each provides), whose URI starts with its name and a colon (xl-local: runs xl on the server's own machine). Its inventory is read by the scheduler at once. Returns {id, poller_token, tls_fingerprint?}: the token the node's poller pushes statistics with, shown only this once, and, when the server speaks HTTPS, its certificate's sha256: fingerprint (the poller's --pin). Fault 8 when the name is taken.",
        params: &[TOKEN, param("node", Type::Struct)],
        returns: Type::Struct,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: register,
    },
    Method {
        name: "node.update",
        help: "Change {name?, hostname?, transport?, uri?, rotate_token?} of a node. With rotate_token true, returns the node's new poller token (the old one stops working); otherwise returns an empty string.",
        params: &[
            TOKEN,
            param("id", Type::Int),
            param("changes", Type::Struct),
        ],
        returns: Type::String,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: update,
    },
    Method {
        name: "node.sync",
        help: "Read the node's inventory from its hypervisor now (it is also read at registration, on events and every reconciliation interval). Returns the job id.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::Int,
        access: Access::Session(Role::Operator),
        vm_param: None,
        work: Work::Write,
        handler: sync,
    },
    Method {
        name: "node.remove",
        help: "Forget a node. Refused (fault 8) while VMs are recorded on it. Returns true.",
        params: &[TOKEN, param("id", Type::Int)],
        returns: Type::Bool,
        access: Access::Session(Role::Admin),
        vm_param: None,
        work: Work::Write,
        handler: remove,
    },
];

fn list(ctx: &Ctx<'_>, _params: &[Value]) -> Result<Value, ApiFault> {
    Ok(array(
        ctx.store.list_nodes(ctx.caller()?)?.iter().map(node_record),
    ))
}

fn get(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    Ok(node_record(
        &ctx.store.get_node(ctx.caller()?, int(params, 1, "id")?)?,
    ))
}

fn register(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let mut f = fields(params, 1, "node")?;
    let name = f.string("name")?;
    let hostname = f.string("hostname")?;
    let transport = transport(ctx, Some(f.string("transport")?))?.unwrap_or(Transport::Libvirt);
    let uri = f.string("uri")?;
    f.finish()?;
    let node = NewNode {
        name,
        hostname,
        transport,
        uri,
    };
    let registered = ctx.store.register_node(ctx.caller()?, &node)?;
    let record = Record::new()
        .int("id", registered.id)
        .string("poller_token", registered.poller_token);
    Ok(match ctx.registry.tls_fingerprint() {
        Some(fingerprint) => record.string("tls_fingerprint", fingerprint),
        None => record,
    }
    .build())
}

fn update(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    let id = int(params, 1, "id")?;
    let mut f = fields(params, 2, "changes")?;
    let changes = NodeUpdate {
        name: f.opt_string("name")?,
        hostname: f.opt_string("hostname")?,
        transport: transport(ctx, f.opt_string("transport")?)?,
        uri: f.opt_string("uri")?,
        rotate_token: f.opt_bool("rotate_token")?.unwrap_or(false),
    };
    f.finish()?;
    let token = ctx.store.update_node(ctx.caller()?, id, &changes)?;
    Ok(Value::String(token.unwrap_or_default()))
}

fn sync(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    Ok(Value::Integer(
        ctx.store
            .request_sync(ctx.caller()?, int(params, 1, "id")?)?,
    ))
}

fn remove(ctx: &Ctx<'_>, params: &[Value]) -> Result<Value, ApiFault> {
    ctx.store
        .remove_node(ctx.caller()?, int(params, 1, "id")?)?;
    Ok(done())
}
