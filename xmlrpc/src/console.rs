//! Where a VM's console is: the node's transport is asked, for `vm.console` (which
//! refuses with fault 7 when it cannot say) and for the console proxy (which then opens
//! it). Calls block: they connect to the node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use zentific_scheduler::dispatch::{self, ConsoleTarget, DispatchError, Dispatcher, DomainRef};
use zentific_sql::{ConsoleKind, Node, Store, Vm};

use crate::modules::ModuleHost;

/// A located console: where it is, and the dispatcher that found it, which must stay open
/// while the console is (an SSH program runs on its master connection).
pub struct Located {
    /// Where the console is.
    pub target: ConsoleTarget,
    /// The node's dispatcher.
    pub dispatcher: Box<dyn Dispatcher>,
}

/// Ask the transport of `node` where `vm`'s console of `kind` is.
pub fn locate(
    store: &Store,
    modules: Option<&Arc<ModuleHost>>,
    node: &Node,
    vm: &Vm,
    kind: ConsoleKind,
) -> Result<Located, DispatchError> {
    on_plain_thread(|| locate_here(store, modules, node, vm, kind))
}

/// [`locate`], then close the connection again: whether the console can be reached.
pub fn probe(
    store: &Store,
    modules: Option<&Arc<ModuleHost>>,
    node: &Node,
    vm: &Vm,
    kind: ConsoleKind,
) -> Result<(), DispatchError> {
    on_plain_thread(|| locate_here(store, modules, node, vm, kind).map(drop))
}

/// Run `work` on a plain thread of its own: transports block on runtimes of their own,
/// which tokio refuses inside its threads (even its blocking ones), and an SSH master's
/// runtime may only be dropped outside them.
fn on_plain_thread<T: Send>(
    work: impl FnOnce() -> Result<T, DispatchError> + Send,
) -> Result<T, DispatchError> {
    std::thread::scope(|scope| {
        scope
            .spawn(work)
            .join()
            .unwrap_or_else(|_| Err(DispatchError::Failed("locating the console failed".into())))
    })
}

fn locate_here(
    store: &Store,
    modules: Option<&Arc<ModuleHost>>,
    node: &Node,
    vm: &Vm,
    kind: ConsoleKind,
) -> Result<Located, DispatchError> {
    let node_user = store
        .global_options()
        .map(|o| o.node_user)
        .unwrap_or_else(|_| "root".into());
    let transports = modules.map(|host| host.transports());
    let dispatcher = dispatch::connect(node, &node_user, transports.as_deref())?;
    let target = dispatcher.console(
        DomainRef {
            uuid: &vm.uuid,
            name: &vm.name,
        },
        kind,
    )?;
    Ok(Located { target, dispatcher })
}

/// Why the VMs of some nodes have no console, by node name (the demo node when Xvfb or
/// x11vnc is missing): added to vm.console's fault 7 for them.
fn unavailable() -> &'static Mutex<HashMap<String, String>> {
    static WHY: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    WHY.get_or_init(Default::default)
}

/// Record why the VMs of node `node_name` have no console.
pub fn note_unavailable(node_name: &str, why: String) {
    unavailable()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(node_name.to_owned(), why);
}

/// Why the VMs of node `node_name` have no console, if that is known.
pub fn why_unavailable(node_name: &str) -> Option<String> {
    unavailable()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(node_name)
        .cloned()
}
