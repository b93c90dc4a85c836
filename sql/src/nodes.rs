//! Nodes: the hypervisor hosts Zentific manages, how to reach them, and the token their
//! poller pushes statistics with.

use crate::sessions::{new_token, token_hash};
use crate::validate::shown;
use crate::{Caller, Role, Store, StoreError, Transport, validate};

/// A node as the API shows it: never the token hash, never the credentials; to plain
/// users not the URI, the transport's status words or the poller's details either (those
/// fields are `None` or empty for them).
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
    /// Connection URI for the transport (`xen:///system`, `ssh://host`, `https://xapi`),
    /// its userinfo (user, password) removed; `None` for plain users.
    pub uri: Option<String>,
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
    /// The URI's userinfo, loaded only for the scheduler ([`Store::dispatch_node`]).
    pub(crate) credentials: Credentials,
}

impl Node {
    /// The URI the transport connects with, credentials included. Only nodes read for
    /// the scheduler carry credentials; every other read gives the plain URI.
    pub fn connect_uri(&self) -> String {
        let uri = self.uri.as_deref().unwrap_or_default();
        match &self.credentials.0 {
            Some(userinfo) => join_userinfo(uri, userinfo),
            None => uri.to_owned(),
        }
    }

    /// Hide what a plain user may not see (URI, status words, poller details).
    fn for_plain_users(mut self) -> Node {
        self.uri = None;
        self.status_detail.clear();
        self.last_seen = None;
        self.poll_interval = None;
        self.clock_skew = None;
        self
    }
}

/// A node's URI userinfo (`user` or `user:password`): kept in its own column, never
/// printed (`Debug` shows `***`).
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Credentials(pub(crate) Option<String>);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Credentials(***)"
        } else {
            "Credentials(None)"
        })
    }
}

/// Split `scheme://userinfo@host/…` into the URI without its userinfo and the userinfo.
/// URIs without an authority (`test:///path`, `xen:///system`) have none.
pub(crate) fn split_userinfo(uri: &str) -> (String, Option<String>) {
    let Some(scheme_end) = uri.find("://") else {
        return (uri.to_owned(), None);
    };
    let authority_start = scheme_end + 3;
    let rest = &uri[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        Some(at) => (
            format!("{}{}", &uri[..authority_start], &rest[at + 1..]),
            Some(rest[..at].to_owned()),
        ),
        None => (uri.to_owned(), None),
    }
}

/// Put userinfo back into a URI [`split_userinfo`] took it from.
fn join_userinfo(uri: &str, userinfo: &str) -> String {
    match uri.find("://") {
        Some(scheme_end) => format!(
            "{}{userinfo}@{}",
            &uri[..scheme_end + 3],
            &uri[scheme_end + 3..]
        ),
        None => uri.to_owned(),
    }
}

/// `text` with every occurrence of the credentials' password (and the whole userinfo)
/// replaced by `***`: for hypervisor error messages that quote the URI they failed on.
pub(crate) fn scrub(text: &str, credentials: &Credentials) -> String {
    let Some(userinfo) = &credentials.0 else {
        return text.to_owned();
    };
    let mut out = text.replace(userinfo.as_str(), "***");
    if let Some((_, password)) = userinfo.split_once(':')
        && !password.is_empty()
    {
        out = out.replace(password, "***");
    }
    out
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
                format!(
                    "must be a URI such as xen:///system or ssh://host; got {:?}",
                    shown(uri)
                ),
            ));
        }
    }
    Ok(())
}

/// Check that a URI suits its transport (the transport checks the rest when it connects).
pub(crate) fn check_uri(transport: &Transport, uri: &str) -> Result<(), StoreError> {
    let fits = match transport {
        Transport::Ssh => uri.starts_with("ssh://"),
        Transport::Xenapi => uri.starts_with("http://") || uri.starts_with("https://"),
        Transport::Libvirt => !uri.starts_with("ssh://") && !uri.starts_with("http"),
        Transport::Module(name) => uri
            .strip_prefix(name.as_str())
            .is_some_and(|rest| rest.starts_with(':')),
    };
    if fits {
        Ok(())
    } else {
        let example = match transport {
            Transport::Ssh => "ssh://[user@]host[:port]".to_owned(),
            Transport::Xenapi => "https://user:password@host".to_owned(),
            Transport::Libvirt => "xen:///system or qemu+ssh://host/system".to_owned(),
            Transport::Module(name) => format!("{name}: (options as the module describes)"),
        };
        Err(StoreError::invalid(
            "uri",
            format!(
                "a {transport} node's URI looks like {example}; got {:?}",
                shown(uri)
            ),
        ))
    }
}

fn visible_to(actor: &Caller, node: Node) -> Node {
    if actor.has_role(Role::Operator) {
        node
    } else {
        node.for_plain_users()
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
        check_uri(&new.transport, &new.uri)?;
        let token = new_token();
        let id = self.after_jobs(
            self.write(|conn| crate::ops::nodes::create(conn, actor, new, &token_hash(&token))),
        )?;
        Ok(RegisteredNode {
            id,
            poller_token: token,
        })
    }

    /// Every node: all users see every node they may provision on (name, state, VM
    /// count); the URI, status words and poller details only operators and admins.
    pub fn list_nodes(&self, actor: &Caller) -> Result<Vec<Node>, StoreError> {
        let nodes = self.read(crate::ops::nodes::list)?;
        Ok(nodes.into_iter().map(|n| visible_to(actor, n)).collect())
    }

    /// One node, as [`Store::list_nodes`] shows it.
    pub fn get_node(&self, actor: &Caller, id: i32) -> Result<Node, StoreError> {
        let node = self.read(|conn| crate::ops::nodes::get(conn, id))?;
        Ok(visible_to(actor, node))
    }

    /// A node with its credentials, for the scheduler to connect with
    /// ([`Node::connect_uri`]). Not for answering requests.
    pub fn dispatch_node(&self, id: i32) -> Result<Node, StoreError> {
        self.read(|conn| crate::ops::nodes::with_credentials(conn, id))
    }

    /// Every node with its credentials, for the scheduler's reconciliation.
    pub fn dispatch_nodes(&self) -> Result<Vec<Node>, StoreError> {
        let ids = self.read(crate::ops::nodes::ids)?;
        ids.into_iter().map(|id| self.dispatch_node(id)).collect()
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

    /// The id of the node a poller token belongs to.
    pub fn node_for_poller_token(&self, token: &str) -> Result<i32, StoreError> {
        self.read(|conn| crate::ops::nodes::id_by_token_hash(conn, &token_hash(token)))?
            .ok_or_else(|| {
                StoreError::NotAuthenticated(
                    "the poller token is unknown; see node.register or node.update".into(),
                )
            })
    }
}
