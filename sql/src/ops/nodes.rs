//! Node queries.

use crate::JobAction;
use crate::db::{Conn, on_backend};
use diesel::prelude::*;

use crate::nodes::{Credentials, split_userinfo};
use crate::schema::{nodes, vms};
use crate::{Caller, NewNode, Node, NodeUpdate, StoreError, Transport};

type NodeRow = (
    (i32, String, String, String, String, Option<i64>, i64),
    (bool, String, Option<i64>, Option<i32>, Option<i64>),
);

macro_rules! node_columns {
    () => {
        (
            (
                nodes::id,
                nodes::name,
                nodes::hostname,
                nodes::transport,
                nodes::uri,
                nodes::last_seen,
                nodes::created_at,
            ),
            (
                nodes::reachable,
                nodes::status_detail,
                nodes::synced_at,
                nodes::poll_interval,
                nodes::clock_skew,
            ),
        )
    };
}

fn to_node(conn: &mut Conn, row: NodeRow) -> Result<Node, StoreError> {
    let (
        (id, name, hostname, transport, uri, last_seen, created_at),
        (reachable, status_detail, synced_at, poll_interval, clock_skew),
    ) = row;
    let vm_count = vms::table
        .filter(vms::node_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(Node {
        id,
        name,
        hostname,
        transport: Transport::parse(&transport, "transport")?,
        uri: Some(uri),
        last_seen,
        created_at,
        vm_count,
        reachable,
        status_detail,
        synced_at,
        poll_interval,
        clock_skew,
        credentials: Credentials::default(),
    })
}

fn name_taken(conn: &mut Conn, name: &str, except: Option<i32>) -> Result<(), StoreError> {
    let mut query = nodes::table.filter(nodes::name.eq(name)).into_boxed();
    if let Some(id) = except {
        query = query.filter(nodes::id.ne(id));
    }
    let n: i64 = query.count().get_result(conn)?;
    if n > 0 {
        return Err(StoreError::Conflict(format!(
            "a node named '{name}' is already registered"
        )));
    }
    Ok(())
}

pub(crate) fn create(
    conn: &mut Conn,
    actor: &Caller,
    new: &NewNode,
    token_hash: &str,
) -> Result<i32, StoreError> {
    name_taken(conn, &new.name, None)?;
    let (uri, credentials) = split_userinfo(&new.uri);
    let id = diesel::insert_into(nodes::table)
        .values((
            nodes::name.eq(&new.name),
            nodes::hostname.eq(&new.hostname),
            nodes::transport.eq(new.transport.as_str()),
            nodes::uri.eq(&uri),
            nodes::credentials.eq(&credentials),
            nodes::poller_token_hash.eq(token_hash),
            nodes::created_at.eq(crate::now()),
        ))
        .returning(nodes::id)
        .get_result(conn)
        .map_err(|e| crate::error::conflict_on_unique(e, "the node name"))?;
    super::audit::record(
        conn,
        Some(actor),
        "node.register",
        "node",
        Some(id),
        &format!("registered node '{}' ({} {uri})", new.name, new.transport),
    )?;
    // Its inventory is read as soon as a scheduler runs.
    super::jobs::create(conn, actor, &JobAction::Sync, id)?;
    Ok(id)
}

pub(crate) fn list(conn: &mut Conn) -> Result<Vec<Node>, StoreError> {
    let rows: Vec<NodeRow> = nodes::table
        .select(node_columns!())
        .order(nodes::id)
        .load(conn)?;
    rows.into_iter().map(|row| to_node(conn, row)).collect()
}

pub(crate) fn get(conn: &mut Conn, id: i32) -> Result<Node, StoreError> {
    let row: Option<NodeRow> = nodes::table
        .find(id)
        .select(node_columns!())
        .first(conn)
        .optional()?;
    let row = row.ok_or_else(|| StoreError::not_found("node", id))?;
    to_node(conn, row)
}

/// A node with its credentials loaded (for the scheduler).
pub(crate) fn with_credentials(conn: &mut Conn, id: i32) -> Result<Node, StoreError> {
    let mut node = get(conn, id)?;
    node.credentials = credentials(conn, id)?;
    Ok(node)
}

/// A node's stored credentials.
pub(crate) fn credentials(conn: &mut Conn, id: i32) -> Result<Credentials, StoreError> {
    let userinfo: Option<Option<String>> = nodes::table
        .find(id)
        .select(nodes::credentials)
        .first(conn)
        .optional()?;
    Ok(Credentials(userinfo.flatten()))
}

/// Every node's id, in order.
pub(crate) fn ids(conn: &mut Conn) -> Result<Vec<i32>, StoreError> {
    Ok(nodes::table.select(nodes::id).order(nodes::id).load(conn)?)
}

/// Move userinfo that an earlier version stored inside `nodes.uri` into `credentials`.
pub(crate) fn separate_stored_credentials(conn: &mut Conn) -> Result<(), StoreError> {
    let rows: Vec<(i32, String)> = nodes::table
        .filter(nodes::uri.like("%@%"))
        .select((nodes::id, nodes::uri))
        .load(conn)?;
    for (id, stored) in rows {
        let (uri, credentials) = split_userinfo(&stored);
        if credentials.is_some() {
            diesel::update(nodes::table.find(id))
                .set((nodes::uri.eq(&uri), nodes::credentials.eq(&credentials)))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The id of the node whose poller token hashes to `hash`. Run for every push: on the
/// concrete connection, and only the id (the push reads what else it needs).
pub(crate) fn id_by_token_hash(conn: &mut Conn, hash: &str) -> Result<Option<i32>, StoreError> {
    let query = nodes::table
        .filter(nodes::poller_token_hash.eq(hash))
        .select(nodes::id);
    Ok(on_backend!(conn, |c| query.first(c).optional())?)
}

pub(crate) fn update(
    conn: &mut Conn,
    actor: &Caller,
    id: i32,
    update: &NodeUpdate,
    token_hash: Option<&str>,
) -> Result<(), StoreError> {
    get(conn, id)?;
    let mut changes = Vec::new();
    if let Some(name) = &update.name {
        name_taken(conn, name, Some(id))?;
        diesel::update(nodes::table.find(id))
            .set(nodes::name.eq(name))
            .execute(conn)?;
        changes.push(format!("name={name}"));
    }
    if let Some(hostname) = &update.hostname {
        diesel::update(nodes::table.find(id))
            .set(nodes::hostname.eq(hostname))
            .execute(conn)?;
        changes.push(format!("hostname={hostname}"));
    }
    if let Some(transport) = &update.transport {
        diesel::update(nodes::table.find(id))
            .set(nodes::transport.eq(transport.as_str()))
            .execute(conn)?;
        changes.push(format!("transport={transport}"));
    }
    if let Some(uri) = &update.uri {
        let (uri, credentials) = split_userinfo(uri);
        diesel::update(nodes::table.find(id))
            .set((nodes::uri.eq(&uri), nodes::credentials.eq(&credentials)))
            .execute(conn)?;
        changes.push(format!("uri={uri}"));
    }
    if let Some(hash) = token_hash {
        diesel::update(nodes::table.find(id))
            .set(nodes::poller_token_hash.eq(hash))
            .execute(conn)?;
        changes.push("poller token rotated".into());
    }
    if changes.is_empty() {
        return Err(StoreError::invalid(
            "changes",
            "give at least one of name, hostname, transport, uri, rotate_token",
        ));
    }
    super::audit::record(
        conn,
        Some(actor),
        "node.update",
        "node",
        Some(id),
        &changes.join(", "),
    )
}

pub(crate) fn remove(conn: &mut Conn, actor: &Caller, id: i32) -> Result<(), StoreError> {
    let node = get(conn, id)?;
    if node.vm_count > 0 {
        return Err(StoreError::Conflict(format!(
            "node '{}' still hosts {} VM(s); remove or move them first",
            node.name, node.vm_count
        )));
    }
    diesel::delete(nodes::table.find(id)).execute(conn)?;
    super::audit::record(
        conn,
        Some(actor),
        "node.remove",
        "node",
        Some(id),
        &format!("removed node '{}'", node.name),
    )
}
