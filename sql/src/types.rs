//! The closed vocabularies of the schema (roles, permissions, states, …), stored as text.

/// Define an enum stored as a lowercase word, with parsing that names the allowed words.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word stored in the database and used on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parse the wire word; the error lists the allowed words.
            pub fn parse(text: &str, field: &str) -> Result<Self, crate::StoreError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::StoreError::invalid(
                        field,
                        format!("must be one of {}; got '{}'", [$($text),+].join(", "), text),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// What a user may do across the installation.
    Role {
        /// Everything, including users, nodes and global options.
        Admin = "admin",
        /// Every VM and read access to nodes; no users, nodes or options.
        Operator = "operator",
        /// Only the VMs they own or were granted.
        User = "user",
    }
);

text_enum!(
    /// What a grant allows on one VM. `admin` implies all others.
    Permission {
        /// See the VM, its log and notes.
        View = "view",
        /// Start, stop, pause and the other power actions.
        Power = "power",
        /// Change memory, vCPUs, devices and notes.
        Modify = "modify",
        /// Open the console.
        Console = "console",
        /// All of the above, and granting them to others.
        Admin = "admin",
    }
);

/// How the scheduler reaches a node's hypervisor: one of Zentific's own transports, or
/// one a module provides (loaded and enabled; the API checks that when a node names it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// libvirt, for any libvirt URI.
    Libvirt,
    /// SSH to the node and the `xl` toolstack.
    Ssh,
    /// XenAPI (XCP-ng, XenServer).
    Xenapi,
    /// A module's transport, by the name the module gives it (1–32 of `a-z 0-9 -`,
    /// starting with a letter).
    Module(String),
}

impl Transport {
    /// The names of Zentific's own transports.
    pub const BUILTIN: &'static [&'static str] = &["libvirt", "ssh", "xenapi"];

    /// The word stored in the database and used on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Transport::Libvirt => "libvirt",
            Transport::Ssh => "ssh",
            Transport::Xenapi => "xenapi",
            Transport::Module(name) => name,
        }
    }

    /// Parse the wire word; the error lists the allowed words.
    pub fn parse(text: &str, field: &str) -> Result<Self, crate::StoreError> {
        Ok(match text {
            "libvirt" => Transport::Libvirt,
            "ssh" => Transport::Ssh,
            "xenapi" => Transport::Xenapi,
            name if is_module_transport_name(name) => Transport::Module(name.to_owned()),
            _ => {
                return Err(crate::StoreError::invalid(
                    field,
                    format!(
                        "must be one of libvirt, ssh, xenapi or a module's transport (1-32 of a-z 0-9 -); got {:?}",
                        crate::validate::shown(text)
                    ),
                ));
            }
        })
    }
}

/// 1–32 of `a-z 0-9 -`, starting with a letter.
fn is_module_transport_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

text_enum!(
    /// Paravirtualized or hardware-virtualized guest.
    VmType {
        /// Paravirtualized.
        Pv = "PV",
        /// Hardware virtual machine.
        Hvm = "HVM",
    }
);

text_enum!(
    /// A VM's state as the hypervisor last reported it.
    VmState {
        /// Running on a CPU.
        Running = "running",
        /// Blocked, waiting for work (Xen's `b`).
        Idle = "idle",
        /// Paused.
        Paused = "paused",
        /// Shut off or never started.
        Stopped = "stopped",
        /// Crashed.
        Crashed = "crashed",
        /// Not known (node unreachable, VM vanished).
        Unknown = "unknown",
    }
);

text_enum!(
    /// The kind of a VM's console (`vm.console`).
    ConsoleKind {
        /// The graphical console, over RFB (VNC).
        Vnc = "vnc",
        /// The text console (a PV guest's serial console).
        Text = "text",
    }
);

text_enum!(
    /// Where a job is in its life.
    JobState {
        /// Recorded, waiting for the scheduler.
        Pending = "pending",
        /// Being dispatched.
        Running = "running",
        /// Done.
        Succeeded = "succeeded",
        /// Gave up; `error` says why.
        Failed = "failed",
        /// Cancelled before it ran.
        Cancelled = "cancelled",
    }
);

impl VmState {
    /// Whether the domain exists on the hypervisor with its memory allocated.
    pub fn is_active(self) -> bool {
        matches!(self, VmState::Running | VmState::Idle | VmState::Paused)
    }
}

text_enum!(
    /// Where a job came from.
    JobKind {
        /// Asked for through the API.
        User = "user",
        /// Fired by a recurring schedule.
        Recurring = "recurring",
        /// Fired by an event trigger.
        Event = "event",
    }
);

text_enum!(
    /// What a schedule does about runs it missed (the scheduler was down).
    MissedRuns {
        /// Forget them; run at the next occurrence.
        Skip = "skip",
        /// Run once now for all of them, then keep the calendar.
        RunOnce = "run_once",
    }
);

text_enum!(
    /// What a trigger listens for.
    TriggerEvent {
        /// A VM entered a state (optionally a given one).
        VmState = "vm_state",
        /// A node has not been heard from for a number of seconds.
        NodeSilent = "node_silent",
        /// A VM statistic stayed above a threshold for a number of seconds.
        StatThreshold = "stat_threshold",
    }
);
