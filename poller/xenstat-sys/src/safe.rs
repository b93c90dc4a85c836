//! The safe API: a [`Xenstat`] handle that owns a `xenstat_handle`, and [`NodeSample`], an
//! owned copy of one `xenstat_get_node` snapshot.
//!
//! Data flow: [`Xenstat::sample`] asks libxenstat for a node with every collector
//! (`XENSTAT_ALL`: vCPUs, networks, VBDs, Xen version), copies what the node reports into
//! plain Rust structs, and frees the node before returning. Nothing borrowed from C outlives
//! the call, so samples can be kept, compared, cloned and sent anywhere.
//!
//! Units are normalised to bytes and nanoseconds; counters are cumulative since the domain
//! (or, for the host, Xen) started, and the caller turns two samples into rates.

use std::ffi::{CStr, c_char, c_uint};
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;

use crate::ffi;

/// An open libxenstat session: a `xenstat_handle` (a libxenctrl handle on the privileged
/// hypercall interface plus a xenstore connection), closed with `xenstat_uninit` on drop.
///
/// Only a Xen dom0 (root, with `xenfs`/`xen-privcmd` and xenstored) can open one. A handle
/// is meant to live as long as the poller and be sampled repeatedly: libxenstat keeps
/// `/proc/net/dev` and the sysfs VBD directory open across samples.
///
/// `Xenstat` is [`Send`] but not [`Sync`]: sampling mutates the handle, so it takes
/// `&mut self`.
pub struct Xenstat {
    handle: NonNull<ffi::xenstat_handle>,
}

// SAFETY: a xenstat_handle has no thread affinity: it holds a libxenctrl interface (a file
// descriptor on privcmd), a libxenstore connection (a socket; libxenstore locks its own
// state) and libxenstat's private FILE*/DIR*, none of which are tied to the thread that
// opened them. Xenstat owns the handle exclusively, so moving it moves sole access to it.
unsafe impl Send for Xenstat {}

impl Xenstat {
    /// Opens libxenstat; wraps [`xenstat_init`](ffi::xenstat_init).
    ///
    /// On a machine that is not a Xen dom0 (no `/dev/xen/privcmd`), without root, or with
    /// xenstored down, this returns [`XenstatError::NotDom0`] with the OS error behind it.
    /// libxenctrl and libxenstat also print one or two lines about the failure on stderr;
    /// that is theirs and cannot be turned off.
    pub fn open() -> Result<Xenstat, XenstatError> {
        // SAFETY: xenstat_init takes no arguments; it returns NULL or a fresh handle that
        // the caller owns.
        let raw = unsafe { ffi::xenstat_init() };
        // Read errno before anything else (the probes below) can overwrite it.
        let os_error = io::Error::last_os_error();
        match NonNull::new(raw) {
            Some(handle) => Ok(Xenstat { handle }),
            None => Err(XenstatError::NotDom0 {
                reason: not_dom0_reason(&os_error, privcmd_present()),
            }),
        }
    }

    /// Takes ownership of a handle returned by [`xenstat_init`](ffi::xenstat_init); it is
    /// released with [`xenstat_uninit`](ffi::xenstat_uninit) when the `Xenstat` drops.
    ///
    /// # Safety
    ///
    /// `ptr` must be a non-null handle from `xenstat_init` that has not been passed to
    /// `xenstat_uninit`, and nothing else may use or free it afterwards: the returned value
    /// is its only owner.
    ///
    /// # Panics
    ///
    /// If `ptr` is null.
    pub unsafe fn from_ptr(ptr: *mut ffi::xenstat_handle) -> Xenstat {
        let handle = NonNull::new(ptr).expect("Xenstat::from_ptr: null xenstat_handle");
        Xenstat { handle }
    }

    /// The raw handle, for calling [`ffi`] functions this type does not wrap. It stays
    /// owned by `self`: do not pass it to `xenstat_uninit`, and do not use it after `self`
    /// is dropped.
    pub fn as_ptr(&self) -> *mut ffi::xenstat_handle {
        self.handle.as_ptr()
    }

    /// Takes one snapshot of the host and all its domains; wraps
    /// [`xenstat_get_node`](ffi::xenstat_get_node) with
    /// [`XENSTAT_ALL`](ffi::XENSTAT_ALL), copies the result, and frees the node with
    /// [`xenstat_free_node`](ffi::xenstat_free_node).
    ///
    /// Domains appear in domain-id order, dom0 first. A domain that is being destroyed
    /// while the snapshot is taken is left out (libxenstat prunes it).
    ///
    /// Fails with [`XenstatError::SampleFailed`] when libxenstat returns no node: a failed
    /// hypercall, out of memory, or a collector that cannot read its source
    /// (`/proc/net/dev`, or `/sys/bus/xen-backend/devices`, which exists only once
    /// `xen-blkback`/`xen-netback` are loaded).
    pub fn sample(&mut self) -> Result<NodeSample, XenstatError> {
        // SAFETY: self.handle is a live handle (type invariant) and `&mut self` gives this
        // call exclusive use of it.
        let raw = unsafe { ffi::xenstat_get_node(self.handle.as_ptr(), ffi::XENSTAT_ALL) };
        let os_error = io::Error::last_os_error();
        let Some(ptr) = NonNull::new(raw) else {
            return Err(XenstatError::SampleFailed {
                reason: format!("xenstat_get_node returned no node (last OS error: {os_error})"),
            });
        };
        let node = Node::new(ptr, self);
        // SAFETY: the node was requested with XENSTAT_ALL, so every collector ran.
        Ok(unsafe { node.to_sample() })
    }
}

impl Drop for Xenstat {
    /// Wraps [`xenstat_uninit`](ffi::xenstat_uninit).
    fn drop(&mut self) {
        // SAFETY: the handle is live and owned by self alone; it is not used again.
        unsafe { ffi::xenstat_uninit(self.handle.as_ptr()) }
    }
}

impl fmt::Debug for Xenstat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Xenstat")
            .field("handle", &self.handle)
            .finish()
    }
}

/// One snapshot of a Xen host, from [`Xenstat::sample`].
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSample {
    /// Physical CPUs (logical processors, hyperthreads included) that Xen manages
    /// (`xc_physinfo` `nr_cpus`).
    pub cpus: u32,
    /// CPU clock in Hz (Xen's `cpu_khz` × 1000).
    pub cpu_hz: u64,
    /// Memory Xen manages, in bytes (pages × page size).
    pub tot_mem_bytes: u64,
    /// Memory no domain owns, in bytes; what `xl info` calls `free_memory`.
    pub free_mem_bytes: u64,
    /// Xen's version with its extra version, e.g. `4.17.7` or `4.18.0-rc`.
    pub xen_version: String,
    /// Every domain, dom0 included, in domain-id order.
    pub domains: Vec<DomainSample>,
}

/// One domain in a [`NodeSample`].
///
/// The state flags are Xen's domain flags as `xl list` shows them (`r b p s c d`);
/// [`DomainSample::state_letters`] renders them the same way.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainSample {
    /// Domain id; 0 is dom0.
    pub id: u32,
    /// Name from xenstore (`/local/domain/<id>/name`).
    pub name: String,
    /// A vCPU of this domain is running on a physical CPU right now.
    pub running: bool,
    /// All its vCPUs wait for an event (the domain is idle).
    pub blocked: bool,
    /// Paused by the toolstack (`xl pause`).
    pub paused: bool,
    /// Shut down (powered off, rebooting or suspended) but not yet destroyed.
    pub shutdown: bool,
    /// Shut down because it crashed.
    pub crashed: bool,
    /// Being destroyed.
    pub dying: bool,
    /// CPU time used by all its vCPUs since the domain was created, in nanoseconds
    /// (`xl list`'s `Time(s)` × 10⁹).
    pub cpu_ns: u64,
    /// vCPUs that are online: `xl list`'s `VCPUs` column. xentop's `VCPUS` column shows
    /// the allocated count instead (highest vCPU id + 1, which includes vCPUs the guest
    /// has taken offline).
    pub vcpus_online: u32,
    /// Memory the domain owns, in bytes (pages × page size): `xl list`'s `Mem` in MiB
    /// × 2²⁰, and xentop's `MEM(k)` × 1024.
    pub cur_mem_bytes: u64,
    /// The most memory Xen lets the domain have, in bytes (`xl mem-max`). `u64::MAX` when
    /// there is no limit: libxenstat reports that when Xen's `max_pages` is `UINT_MAX`,
    /// which is dom0's default without `dom0_mem=…,max:…`. xentop prints it as
    /// `no limit`.
    pub max_mem_bytes: u64,
    /// Its virtual network interfaces (the `vif<domid>.<n>` backends in dom0).
    pub networks: Vec<NetworkSample>,
    /// Its virtual block devices served by blkback or blktap (see [`VbdSample`]).
    pub vbds: Vec<VbdSample>,
}

impl DomainSample {
    /// The state as the six letters `xl list` prints: `r` running, `b` blocked, `p`
    /// paused, `s` shutdown, `c` crashed, `d` dying, `-` where a flag is clear; for
    /// example `r-----` or `-b----`.
    pub fn state_letters(&self) -> String {
        [
            (self.running, 'r'),
            (self.blocked, 'b'),
            (self.paused, 'p'),
            (self.shutdown, 's'),
            (self.crashed, 'c'),
            (self.dying, 'd'),
        ]
        .iter()
        .map(|&(set, letter)| if set { letter } else { '-' })
        .collect()
    }
}

/// Counters of one virtual network interface, cumulative since the interface was
/// created, **as the guest sees its NIC**: `rx_*` is traffic the guest received, `tx_*`
/// traffic it sent (the same convention as libvirt's `domifstat` and `ip -s link` inside
/// the guest).
///
/// libxenstat reads the dom0 side of the interface (`vif<domid>.<id>` in
/// `/proc/net/dev`), where the directions are the other way round, and xentop prints those
/// as they are: xentop's `NETTX(k)` × 1024 is this `rx_bytes`, its `NETRX(k)` × 1024 is
/// `tx_bytes`. [`NetworkSample::backend_view`] gives the dom0-side numbers back.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSample {
    /// Interface number within the domain (the `n` of `vif<domid>.<n>`, the guest's
    /// `eth<n>` with default naming).
    pub id: u32,
    /// Bytes received by the guest.
    pub rx_bytes: u64,
    /// Packets received by the guest.
    pub rx_packets: u64,
    /// Errors on packets to the guest (dom0 backend's transmit errors).
    pub rx_errors: u64,
    /// Packets to the guest that were dropped (dom0 backend's transmit drops, e.g. when
    /// the guest's receive ring was full).
    pub rx_drops: u64,
    /// Bytes sent by the guest.
    pub tx_bytes: u64,
    /// Packets sent by the guest.
    pub tx_packets: u64,
    /// Errors on packets from the guest (dom0 backend's receive errors).
    pub tx_errors: u64,
    /// Packets from the guest that dom0 dropped (dom0 backend's receive drops).
    pub tx_drops: u64,
}

impl NetworkSample {
    /// Builds a sample from dom0's counters for the backend interface (libxenstat's
    /// `xenstat_network_r*` are `backend_rx`, `xenstat_network_t*` are `backend_tx`, each
    /// as `[bytes, packets, errors, drops]`), turning them into the guest's view.
    pub fn from_backend(id: u32, backend_rx: [u64; 4], backend_tx: [u64; 4]) -> NetworkSample {
        let [rx_bytes, rx_packets, rx_errors, rx_drops] = backend_tx;
        let [tx_bytes, tx_packets, tx_errors, tx_drops] = backend_rx;
        NetworkSample {
            id,
            rx_bytes,
            rx_packets,
            rx_errors,
            rx_drops,
            tx_bytes,
            tx_packets,
            tx_errors,
            tx_drops,
        }
    }

    /// The same counters from dom0's side of the interface, as libxenstat and xentop
    /// report them (receive and transmit swapped).
    pub fn backend_view(&self) -> NetworkSample {
        NetworkSample {
            id: self.id,
            rx_bytes: self.tx_bytes,
            rx_packets: self.tx_packets,
            rx_errors: self.tx_errors,
            rx_drops: self.tx_drops,
            tx_bytes: self.rx_bytes,
            tx_packets: self.rx_packets,
            tx_errors: self.rx_errors,
            tx_drops: self.rx_drops,
        }
    }
}

/// Counters of one virtual block device, from blkback's (or blktap's) sysfs statistics,
/// cumulative since the backend connected. Requests are counted once each, whatever
/// their size; sectors are 512-byte units ([`VbdSample::SECTOR_BYTES`]) regardless of the
/// disk's logical block size.
///
/// Disks served by QEMU (`qdisk`) are included only when libxenstat can reach QEMU's QMP
/// socket; a device whose statistics cannot be read is left out rather than reported as
/// zeros.
#[derive(Clone, Debug, PartialEq)]
pub struct VbdSample {
    /// Xen virtual device number, as in `vbd-<domid>-<dev>` and xentop's `VBD` lines: e.g.
    /// 51712 is `xvda` (202 << 8), 51728 `xvdb`, 768 `hda`, 2048 `sda`.
    pub dev: u32,
    /// Read requests.
    pub rd_reqs: u64,
    /// Write requests.
    pub wr_reqs: u64,
    /// 512-byte sectors read.
    pub rd_sectors: u64,
    /// 512-byte sectors written.
    pub wr_sectors: u64,
    /// "Out of" requests: times the backend had to wait because no request slot was free
    /// (a sign of a saturated ring).
    pub oo_reqs: u64,
}

impl VbdSample {
    /// Bytes per sector in [`VbdSample::rd_sectors`] and [`VbdSample::wr_sectors`].
    pub const SECTOR_BYTES: u64 = 512;

    /// Bytes read.
    pub fn rd_bytes(&self) -> u64 {
        self.rd_sectors.saturating_mul(Self::SECTOR_BYTES)
    }

    /// Bytes written.
    pub fn wr_bytes(&self) -> u64 {
        self.wr_sectors.saturating_mul(Self::SECTOR_BYTES)
    }
}

/// Why libxenstat could not be opened or sampled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XenstatError {
    /// Not a Xen dom0, or not allowed to use it: `xenstat_init` returned NULL.
    NotDom0 {
        /// The OS error behind it (e.g. `No such file or directory` when `/proc/xen` and
        /// `/dev/xen/privcmd` are missing) and what it usually means.
        reason: String,
    },
    /// `xenstat_get_node` returned NULL.
    SampleFailed {
        /// The last OS error libxenstat left behind.
        reason: String,
    },
}

impl fmt::Display for XenstatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XenstatError::NotDom0 { reason } => write!(
                f,
                "cannot open libxenstat (not a Xen dom0, or not privileged): {reason}"
            ),
            XenstatError::SampleFailed { reason } => {
                write!(f, "libxenstat could not take a sample: {reason}")
            }
        }
    }
}

impl std::error::Error for XenstatError {}

/// Whether the privileged hypercall interface libxenctrl opens exists at all.
fn privcmd_present() -> bool {
    Path::new("/dev/xen/privcmd").exists() || Path::new("/proc/xen/privcmd").exists()
}

/// Turns the errno left by a failed `xenstat_init` into a sentence saying what to check.
fn not_dom0_reason(os_error: &io::Error, privcmd_present: bool) -> String {
    if !privcmd_present {
        return format!(
            "{os_error}: neither /dev/xen/privcmd nor /proc/xen/privcmd exists \
             (this system is not running under Xen, or xenfs and xen-privcmd are not loaded)"
        );
    }
    match os_error.kind() {
        io::ErrorKind::PermissionDenied => {
            format!("{os_error}: the Xen control interface is for root only")
        }
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
            format!("{os_error}: cannot reach xenstore (is xenstored running?)")
        }
        _ => os_error.to_string(),
    }
}

/// Converts a C string owned by libxenstat into an owned `String` (lossily: Xen names are
/// ASCII in practice). A null pointer becomes an empty string.
///
/// # Safety
///
/// `ptr` must be null or point to a NUL-terminated string that stays valid for the call.
unsafe fn owned_string(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: non-null, and the caller guarantees a live NUL-terminated string.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// A `xenstat_node` freed with `xenstat_free_node` on drop. It borrows the handle because
/// the node points into it (the Xen version string lives in the handle).
struct Node<'h> {
    ptr: NonNull<ffi::xenstat_node>,
    _handle: PhantomData<&'h mut Xenstat>,
}

impl Drop for Node<'_> {
    fn drop(&mut self) {
        // SAFETY: the node came from xenstat_get_node, is owned by this guard alone and is
        // not used after this.
        unsafe { ffi::xenstat_free_node(self.ptr.as_ptr()) }
    }
}

impl<'h> Node<'h> {
    /// Takes ownership of `ptr`, a node that `owner`'s handle returned.
    fn new(ptr: NonNull<ffi::xenstat_node>, _owner: &'h mut Xenstat) -> Node<'h> {
        Node {
            ptr,
            _handle: PhantomData,
        }
    }

    /// Copies the node and every domain in it.
    ///
    /// # Safety
    ///
    /// The node must have been collected with at least `XENSTAT_VCPU`: libxenstat's
    /// `xenstat_domain_vcpu` indexes the vCPU array without checking that it was filled.
    unsafe fn to_sample(&self) -> NodeSample {
        let node = self.ptr.as_ptr();
        // SAFETY: `node` is live until self drops; these accessors only read fields of it
        // (the version string lives in the handle, which outlives the node).
        let (cpus, cpu_hz, tot_mem_bytes, free_mem_bytes, version, count) = unsafe {
            (
                ffi::xenstat_node_num_cpus(node),
                ffi::xenstat_node_cpu_hz(node),
                ffi::xenstat_node_tot_mem(node),
                ffi::xenstat_node_free_mem(node),
                ffi::xenstat_node_xen_version(node),
                ffi::xenstat_node_num_domains(node),
            )
        };
        // SAFETY: the version is a NUL-terminated buffer inside the live handle.
        let xen_version = unsafe { owned_string(version) };
        let domains = (0..count)
            .filter_map(|index| {
                // SAFETY: index < num_domains; the result points into the live node (or is
                // NULL, which the filter drops).
                let domain = unsafe { ffi::xenstat_node_domain_by_index(node, index) };
                // SAFETY: a non-null domain of the live node, whose vCPUs were collected
                // (this function's contract).
                NonNull::new(domain).map(|domain| unsafe { domain_sample(domain.as_ptr()) })
            })
            .collect();
        NodeSample {
            cpus,
            cpu_hz,
            tot_mem_bytes,
            free_mem_bytes,
            xen_version,
            domains,
        }
    }
}

/// Copies one domain.
///
/// # Safety
///
/// `domain` must point into a live node collected with `XENSTAT_VCPU`.
unsafe fn domain_sample(domain: *mut ffi::xenstat_domain) -> DomainSample {
    let flag = |value: c_uint| value != 0;
    // SAFETY: `domain` is a live domain of a live node (caller's contract); these
    // accessors only read its fields. The name belongs to the node and is copied here.
    unsafe {
        DomainSample {
            id: ffi::xenstat_domain_id(domain),
            name: owned_string(ffi::xenstat_domain_name(domain)),
            running: flag(ffi::xenstat_domain_running(domain)),
            blocked: flag(ffi::xenstat_domain_blocked(domain)),
            paused: flag(ffi::xenstat_domain_paused(domain)),
            shutdown: flag(ffi::xenstat_domain_shutdown(domain)),
            crashed: flag(ffi::xenstat_domain_crashed(domain)),
            dying: flag(ffi::xenstat_domain_dying(domain)),
            cpu_ns: ffi::xenstat_domain_cpu_ns(domain),
            vcpus_online: online_vcpus(domain),
            cur_mem_bytes: ffi::xenstat_domain_cur_mem(domain),
            max_mem_bytes: ffi::xenstat_domain_max_mem(domain),
            networks: networks(domain),
            vbds: vbds(domain),
        }
    }
}

/// Counts the domain's online vCPUs (`xenstat_vcpu_online`).
///
/// # Safety
///
/// As for [`domain_sample`]: the node's vCPU array must have been collected.
unsafe fn online_vcpus(domain: *mut ffi::xenstat_domain) -> u32 {
    // SAFETY: a live domain (caller's contract).
    let allocated = unsafe { ffi::xenstat_domain_num_vcpus(domain) };
    let online = (0..allocated).filter(|&index| {
        // SAFETY: index < num_vcpus and the vCPU array was collected (caller's contract),
        // so this is an element of it.
        let vcpu = unsafe { ffi::xenstat_domain_vcpu(domain, index) };
        // SAFETY: non-null (checked first) and points into the live node.
        !vcpu.is_null() && unsafe { ffi::xenstat_vcpu_online(vcpu) } != 0
    });
    // At most `allocated` items, so the count fits in a u32.
    online.count() as u32
}

/// Copies the domain's network interfaces, turned into the guest's view.
///
/// # Safety
///
/// `domain` must point into a live node.
unsafe fn networks(domain: *mut ffi::xenstat_domain) -> Vec<NetworkSample> {
    // SAFETY: a live domain (caller's contract).
    let count = unsafe { ffi::xenstat_domain_num_networks(domain) };
    (0..count)
        .filter_map(|index| {
            // SAFETY: a live domain; libxenstat checks the index and the array and returns
            // NULL when either is missing.
            NonNull::new(unsafe { ffi::xenstat_domain_network(domain, index) })
        })
        .map(|network| {
            let network = network.as_ptr();
            // SAFETY: a non-null interface of the live node; the accessors read fields.
            unsafe {
                NetworkSample::from_backend(
                    ffi::xenstat_network_id(network),
                    [
                        ffi::xenstat_network_rbytes(network),
                        ffi::xenstat_network_rpackets(network),
                        ffi::xenstat_network_rerrs(network),
                        ffi::xenstat_network_rdrop(network),
                    ],
                    [
                        ffi::xenstat_network_tbytes(network),
                        ffi::xenstat_network_tpackets(network),
                        ffi::xenstat_network_terrs(network),
                        ffi::xenstat_network_tdrop(network),
                    ],
                )
            }
        })
        .collect()
}

/// Copies the domain's block devices, leaving out those whose statistics libxenstat could
/// not read (`xenstat_vbd_error`): their counters are not filled in.
///
/// # Safety
///
/// `domain` must point into a live node.
unsafe fn vbds(domain: *mut ffi::xenstat_domain) -> Vec<VbdSample> {
    // SAFETY: a live domain (caller's contract).
    let count = unsafe { ffi::xenstat_domain_num_vbds(domain) };
    (0..count)
        .filter_map(|index| {
            // SAFETY: a live domain; libxenstat checks the index and the array and returns
            // NULL when either is missing.
            NonNull::new(unsafe { ffi::xenstat_domain_vbd(domain, index) })
        })
        .filter_map(|vbd| {
            let vbd = vbd.as_ptr();
            // SAFETY: a non-null VBD of the live node; the accessors read fields.
            unsafe {
                if ffi::xenstat_vbd_error(vbd) {
                    return None;
                }
                Some(VbdSample {
                    dev: ffi::xenstat_vbd_dev(vbd),
                    rd_reqs: ffi::xenstat_vbd_rd_reqs(vbd),
                    wr_reqs: ffi::xenstat_vbd_wr_reqs(vbd),
                    rd_sectors: ffi::xenstat_vbd_rd_sects(vbd),
                    wr_sectors: ffi::xenstat_vbd_wr_sects(vbd),
                    oo_reqs: ffi::xenstat_vbd_oo_reqs(vbd),
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain() -> DomainSample {
        DomainSample {
            id: 1,
            name: "domu1".into(),
            running: false,
            blocked: false,
            paused: false,
            shutdown: false,
            crashed: false,
            dying: false,
            cpu_ns: 0,
            vcpus_online: 1,
            cur_mem_bytes: 128 << 20,
            max_mem_bytes: u64::MAX,
            networks: Vec::new(),
            vbds: Vec::new(),
        }
    }

    #[test]
    fn state_letters_follow_xl_list() {
        assert_eq!(domain().state_letters(), "------");
        let running = DomainSample {
            running: true,
            ..domain()
        };
        assert_eq!(running.state_letters(), "r-----");
        let idle = DomainSample {
            blocked: true,
            ..domain()
        };
        assert_eq!(idle.state_letters(), "-b----");
        let crashed = DomainSample {
            paused: true,
            shutdown: false,
            crashed: true,
            dying: true,
            ..domain()
        };
        assert_eq!(crashed.state_letters(), "--p-cd");
        let all = DomainSample {
            running: true,
            blocked: true,
            paused: true,
            shutdown: true,
            crashed: true,
            dying: true,
            ..domain()
        };
        assert_eq!(all.state_letters(), "rbpscd");
    }

    #[test]
    fn backend_counters_become_the_guests_view() {
        // dom0's vif1.0 received 1710 bytes in 5 packets (the guest sent them) and
        // transmitted 90 bytes in 1 packet (the guest received it).
        let net = NetworkSample::from_backend(0, [1710, 5, 1, 2], [90, 1, 3, 4]);
        assert_eq!(
            net,
            NetworkSample {
                id: 0,
                rx_bytes: 90,
                rx_packets: 1,
                rx_errors: 3,
                rx_drops: 4,
                tx_bytes: 1710,
                tx_packets: 5,
                tx_errors: 1,
                tx_drops: 2,
            }
        );
        let back = net.backend_view();
        assert_eq!((back.rx_bytes, back.rx_packets), (1710, 5));
        assert_eq!((back.tx_bytes, back.tx_packets), (90, 1));
        assert_eq!(back.backend_view(), net);
    }

    #[test]
    fn sectors_are_512_bytes() {
        let vbd = VbdSample {
            dev: 51712,
            rd_reqs: 3,
            wr_reqs: 1,
            rd_sectors: 24,
            wr_sectors: 8,
            oo_reqs: 0,
        };
        assert_eq!(vbd.rd_bytes(), 12288);
        assert_eq!(vbd.wr_bytes(), 4096);
        let huge = VbdSample {
            rd_sectors: u64::MAX,
            ..vbd
        };
        assert_eq!(huge.rd_bytes(), u64::MAX);
    }

    #[test]
    fn not_dom0_reason_says_what_to_check() {
        // ENOENT is 2 on every Linux architecture.
        let enoent = io::Error::from_raw_os_error(2);
        let missing = not_dom0_reason(&enoent, false);
        assert!(missing.contains("No such file or directory"), "{missing}");
        assert!(missing.contains("/dev/xen/privcmd"), "{missing}");
        assert!(missing.contains("not running under Xen"), "{missing}");

        let eacces = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(not_dom0_reason(&eacces, true).contains("root"));
        assert!(not_dom0_reason(&enoent, true).contains("xenstored"));

        let other = io::Error::other("odd");
        assert_eq!(not_dom0_reason(&other, true), "odd");
    }

    #[test]
    fn errors_read_as_sentences() {
        let error = XenstatError::NotDom0 {
            reason: "No such file or directory (os error 2)".into(),
        };
        assert_eq!(
            error.to_string(),
            "cannot open libxenstat (not a Xen dom0, or not privileged): \
             No such file or directory (os error 2)"
        );
        let error = XenstatError::SampleFailed {
            reason: "xenstat_get_node returned no node".into(),
        };
        assert_eq!(
            error.to_string(),
            "libxenstat could not take a sample: xenstat_get_node returned no node"
        );
    }

    #[test]
    fn owned_string_copies_and_tolerates_null() {
        // SAFETY: null is allowed.
        assert_eq!(unsafe { owned_string(std::ptr::null()) }, "");
        let name = c"Domain-0";
        // SAFETY: a NUL-terminated literal.
        assert_eq!(unsafe { owned_string(name.as_ptr()) }, "Domain-0");
        let invalid = c"d\xffx";
        // SAFETY: a NUL-terminated literal.
        assert_eq!(unsafe { owned_string(invalid.as_ptr()) }, "d\u{fffd}x");
    }

    #[test]
    fn handle_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<Xenstat>();
        assert_send::<NodeSample>();
    }
}
