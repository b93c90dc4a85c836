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

/// A VM's console of one kind, to be found through its node's transport.
pub struct ConsoleOf<'a> {
    /// The store (for the node user option).
    pub store: &'a Store,
    /// The module host, for nodes on module transports.
    pub modules: Option<&'a Arc<ModuleHost>>,
    /// The VM's node, with credentials.
    pub node: &'a Node,
    /// The VM.
    pub vm: &'a Vm,
    /// The kind of console.
    pub kind: ConsoleKind,
}

impl ConsoleOf<'_> {
    /// Ask the node's transport where the console is.
    pub fn locate(&self) -> Result<Located, DispatchError> {
        on_plain_thread(|| self.locate_here())
    }

    /// [`ConsoleOf::locate`], then close the connection again: whether it can be reached.
    pub fn probe(&self) -> Result<(), DispatchError> {
        on_plain_thread(|| self.locate_here().map(drop))
    }

    fn locate_here(&self) -> Result<Located, DispatchError> {
        let node_user = self
            .store
            .global_options()
            .map(|o| o.node_user)
            .unwrap_or_else(|_| "root".into());
        let transports = self.modules.map(|host| host.transports());
        let dispatcher = dispatch::connect(self.node, &node_user, transports.as_deref())?;
        let target = dispatcher.console(
            DomainRef {
                uuid: &self.vm.uuid,
                name: &self.vm.name,
            },
            self.kind,
        )?;
        Ok(Located { target, dispatcher })
    }
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
