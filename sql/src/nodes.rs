//! Nodes: the hypervisor hosts Zentific manages, how to reach them, and the token their
//! poller pushes statistics with.

use crate::sessions::{new_token, token_hash};
use crate::{Caller, Role, Store, StoreError, Transport, validate};

/// A node as the API shows it (never the token hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Row id.
    pub id: i32,
    /// Unique display name.
    pub name: String,
    /// Host name or address.
    pub hostname: String,
    /// How the scheduler reaches it.
    pub transport: Transport,
    /// Connection URI for the transport (`xen:///system`, `ssh://host`, `https://xapi`).
    pub uri: String,
    /// When its poller last pushed (Unix seconds), if ever.
    pub last_seen: Option<i64>,
    /// When it was registered.
    pub created_at: i64,
    /// How many VMs it hosts.
    pub vm_count: i64,
    /// Whether its hypervisor answered the last time the scheduler tried.
    pub reachable: bool,
    /// Why it did not, in the transport's words.
    pub status_detail: String,
    /// When its inventory was last read from the hypervisor.
    pub synced_at: Option<i64>,
    /// Seconds between its poller's samples, once it pushed.
    pub poll_interval: Option<i32>,
    /// Server time minus the poller's clock at the last push, seconds.
    pub clock_skew: Option<i64>,
}

/// What `node.register` takes.
#[derive(Clone, Debug)]
pub struct NewNode {
    /// Unique display name.
    pub name: String,
    /// Host name or address.
    pub hostname: String,
    /// How the scheduler reaches it.
    pub transport: Transport,
    /// Connection URI.
    pub uri: String,
}

/// What `node.update` may change; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct NodeUpdate {
    /// New name.
    pub name: Option<String>,
    /// New host name.
    pub hostname: Option<String>,
    /// New transport.
    pub transport: Option<Transport>,
    /// New URI.
    pub uri: Option<String>,
    /// Issue a new poller token (the old one stops working).
    pub rotate_token: bool,
}

/// The answer to `node.register`: the id and the poller token, shown only this once.
#[derive(Clone, Debug)]
pub struct RegisteredNode {
    /// The new node's id.
    pub id: i32,
    /// The token its poller pushes with; only its hash is stored.
    pub poller_token: String,
}

pub(crate) fn check_fields(
    name: Option<&str>,
    hostname: Option<&str>,
    uri: Option<&str>,
) -> Result<(), StoreError> {
    if let Some(name) = name {
        validate::name("name", name)?;
    }
    if let Some(hostname) = hostname {
        validate::token("hostname", hostname, 253)?;
    }
    if let Some(uri) = uri {
        validate::token("uri", uri, 1024)?;
        if !uri.contains(':') {
            return Err(StoreError::invalid(
                "uri",
                format!("must be a URI such as xen:///system or ssh://host; got {uri:?}"),
            ));
        }
    }
    Ok(())
}

/// Check that a URI suits its transport (the transport checks the rest when it connects).
pub(crate) fn check_uri(transport: Transport, uri: &str) -> Result<(), StoreError> {
    let fits = match transport {
        Transport::Ssh => uri.starts_with("ssh://"),
        Transport::Xenapi => uri.starts_with("http://") || uri.starts_with("https://"),
        Transport::Libvirt => !uri.starts_with("ssh://") && !uri.starts_with("http"),
    };
    if fits {
        Ok(())
    } else {
        let example = match transport {
            Transport::Ssh => "ssh://[user@]host[:port]",
            Transport::Xenapi => "https://user:password@host",
            Transport::Libvirt => "xen:///system or qemu+ssh://host/system",
        };
        Err(StoreError::invalid(
            "uri",
            format!("a {transport} node's URI looks like {example}; got {uri:?}"),
        ))
    }
}

impl Store {
    /// Register a node (admins only) and issue its poller token.
    pub fn register_node(
        &self,
        actor: &Caller,
        new: &NewNode,
    ) -> Result<RegisteredNode, StoreError> {
        actor.require_role(Role::Admin, "registering nodes")?;
        check_fields(Some(&new.name), Some(&new.hostname), Some(&new.uri))?;
        check_uri(new.transport, &new.uri)?;
        let token = new_token();
        let id = self.after_jobs(
            self.write(|conn| crate::ops::nodes::create(conn, actor, new, &token_hash(&token))),
        )?;
        Ok(RegisteredNode {
            id,
            poller_token: token,
        })
    }

    /// Every node.
    pub fn list_nodes(&self) -> Result<Vec<Node>, StoreError> {
        self.read(crate::ops::nodes::list)
    }

    /// One node.
    pub fn get_node(&self, id: i32) -> Result<Node, StoreError> {
        self.read(|conn| crate::ops::nodes::get(conn, id))
    }

    /// Change a node (admins only); returns a new poller token when one was asked for.
    pub fn update_node(
        &self,
        actor: &Caller,
        id: i32,
        update: &NodeUpdate,
    ) -> Result<Option<String>, StoreError> {
        actor.require_role(Role::Admin, "changing nodes")?;
        check_fields(
            update.name.as_deref(),
            update.hostname.as_deref(),
            update.uri.as_deref(),
        )?;
        let token = update.rotate_token.then(new_token);
        let hash = token.as_deref().map(token_hash);
        self.write(|conn| crate::ops::nodes::update(conn, actor, id, update, hash.as_deref()))?;
        Ok(token)
    }

    /// Forget a node (admins only). Refused while VMs are recorded on it.
    pub fn remove_node(&self, actor: &Caller, id: i32) -> Result<(), StoreError> {
        actor.require_role(Role::Admin, "removing nodes")?;
        self.write(|conn| crate::ops::nodes::remove(conn, actor, id))
    }

    /// The node a poller token belongs to.
    pub fn node_for_poller_token(&self, token: &str) -> Result<Node, StoreError> {
        self.read(|conn| crate::ops::nodes::by_token_hash(conn, &token_hash(token)))?
            .ok_or_else(|| {
                StoreError::NotAuthenticated(
                    "the poller token is unknown; see node.register or node.update".into(),
                )
            })
    }
}
