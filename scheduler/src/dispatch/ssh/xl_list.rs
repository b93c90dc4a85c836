//! Parsing `xl list` output into [`Domain`]s.
//!
//! `xl list -v` prints one header line and one line per domain (Xen 4.17,
//! `tools/xl/xl_list.c`):
//!
//! ```text
//! Name                                        ID   Mem VCPUs→State→Time(s)   UUID                            Reason-Code→Security Label
//! Domain-0                                     0  1024     1     r-----      22.4 00000000-0000-0000-0000-000000000000        -                -
//! domu1                                        1   128     1     r-----       3.3 3f4eaa22-4aa5-41e0-b66c-d3ca492fc4e8        -                -
//! ```
//!
//! (`→` marks the tabs xl prints in the header.)
//!
//! The name is padded to 40 columns but may be longer, so each line is read from the right:
//! the last eight fields are fixed (`ID Mem VCPUs State Time UUID Reason-Code Label`) and
//! the name is what precedes them. Plain `xl list` (no UUID) has five fixed fields; it parses
//! too, into entries without a UUID, which [`domains_from_xl_list`] refuses because Zentific
//! matches VMs by UUID.
//!
//! The State column has six positions, `r b p s <reason> d`: running, blocked, paused,
//! shut down, the shutdown reason as a letter (`-` poweroff, `r` reboot, `s` suspend,
//! `c` crash, `w` watchdog, `S` soft reset) and dying. They map to [`VmState`] in this order
//! of precedence:
//!
//! | flags | state |
//! |---|---|
//! | `d` (dying: being destroyed, memory being released) | [`VmState::Stopped`] |
//! | `s` with reason `c` | [`VmState::Crashed`] |
//! | `s` with any other reason (powered off, rebooting, suspended) | [`VmState::Stopped`] |
//! | `p` | [`VmState::Paused`] |
//! | `r` | [`VmState::Running`] |
//! | `b` | [`VmState::Idle`] |
//! | none (`------`: runnable but scheduled out) | [`VmState::Idle`] |
//!
//! Mem is MiB (current plus outstanding claims); it becomes KiB. `xl list` has no memory
//! ceiling and no guest type, so those come from `xl list -l` (a JSON array with each
//! domain's libxl configuration: `config.b_info.max_memkb`, which `xl mem-max` keeps up to
//! date, and `config.c_info.type`), read by [`parse_xl_list_long`] and joined by UUID. A
//! domain missing there (it started between the two listings, or xl prints SXP because
//! `output_format="sxp"` in `xl.conf`) gets its current memory as ceiling and no type.

use std::collections::HashMap;

use serde::Deserialize;
use zentific_sql::{VmState, VmType};

use super::is_uuid;
use crate::dispatch::Domain;

/// Fixed fields after the name in `xl list -v`: ID Mem VCPUs State Time UUID Reason Label.
const VERBOSE_FIXED_FIELDS: usize = 8;
/// Fixed fields after the name in plain `xl list`: ID Mem VCPUs State Time.
const PLAIN_FIXED_FIELDS: usize = 5;
/// Domain ID of the control domain, which is not a VM Zentific manages.
const CONTROL_DOMAIN_ID: u32 = 0;

/// One line of `xl list` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XlListEntry {
    /// Domain name.
    pub name: String,
    /// Xen domain ID.
    pub domid: u32,
    /// Current memory, MiB.
    pub memory_mib: i64,
    /// Online vCPUs.
    pub vcpus: i32,
    /// The six-character State column, e.g. `-b----`.
    pub flags: String,
    /// UUID, present in `xl list -v` output only.
    pub uuid: Option<String>,
}

impl XlListEntry {
    /// The state the flags stand for (see the module docs for the table).
    pub fn state(&self) -> VmState {
        state_from_flags(&self.flags)
    }
}

/// Why `xl list` output could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XlListError {
    /// The output did not start with the header `xl list` prints.
    #[error("xl list output has no header line starting with \"Name\"")]
    MissingHeader,
    /// A domain line had the wrong number of fields or a field of the wrong form.
    #[error("cannot read xl list line {line_number}: {line:?}")]
    BadLine {
        /// 1-based line number in the output.
        line_number: usize,
        /// The line as printed.
        line: String,
    },
    /// The output came from plain `xl list`, which does not print UUIDs.
    #[error("xl list printed no UUID for domain {0:?} (use xl list -v)")]
    MissingUuid(String),
}

/// Parse the output of `xl list` or `xl list -v` (all domains, the control domain included).
pub fn parse_xl_list(output: &str) -> Result<Vec<XlListEntry>, XlListError> {
    let mut lines = output
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let header = match lines.next() {
        Some((_, header)) if header.trim_start().starts_with("Name") => header,
        _ => return Err(XlListError::MissingHeader),
    };
    let verbose = header.split_whitespace().any(|word| word == "UUID");
    let fixed_fields = if verbose {
        VERBOSE_FIXED_FIELDS
    } else {
        PLAIN_FIXED_FIELDS
    };
    lines
        .map(|(index, line)| {
            parse_line(line, fixed_fields, verbose).ok_or_else(|| XlListError::BadLine {
                line_number: index + 1,
                line: line.to_owned(),
            })
        })
        .collect()
}

/// What `xl list -l` adds to `xl list -v` for one domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XlDomainDetails {
    /// Memory ceiling (static max), KiB, if the configuration has a usable one.
    pub max_memory_kb: Option<i64>,
    /// Guest type; `None` for PVH and anything else Zentific has no word for.
    pub vm_type: Option<VmType>,
}

/// Parse `xl list -l` JSON into details keyed by lowercase UUID.
pub fn parse_xl_list_long(
    json: &str,
) -> Result<HashMap<String, XlDomainDetails>, serde_json::Error> {
    let entries: Vec<LongEntry> = serde_json::from_str(json)?;
    Ok(entries
        .into_iter()
        .filter_map(|entry| {
            let uuid = entry.config.c_info.uuid?.to_ascii_lowercase();
            let max_memory_kb = entry
                .config
                .b_info
                .max_memkb
                .as_ref()
                .and_then(serde_json::Value::as_i64)
                .filter(|kib| *kib > 0);
            let vm_type = match entry.config.c_info.kind.as_deref() {
                Some("pv") => Some(VmType::Pv),
                Some("hvm") => Some(VmType::Hvm),
                _ => None,
            };
            Some((
                uuid,
                XlDomainDetails {
                    max_memory_kb,
                    vm_type,
                },
            ))
        })
        .collect())
}

/// One element of the `xl list -l` array; unknown keys are ignored.
#[derive(Deserialize)]
struct LongEntry {
    config: LongConfig,
}

/// `config` of an `xl list -l` element (a `libxl_domain_config`).
#[derive(Deserialize)]
struct LongConfig {
    #[serde(default)]
    c_info: CreateInfo,
    #[serde(default)]
    b_info: BuildInfo,
}

/// `config.c_info`.
#[derive(Default, Deserialize)]
struct CreateInfo {
    #[serde(rename = "type")]
    kind: Option<String>,
    uuid: Option<String>,
}

/// `config.b_info`. `max_memkb` stays a raw value: libxl prints its "default" marker as
/// 2^64-1, which must not fail the whole document.
#[derive(Default, Deserialize)]
struct BuildInfo {
    max_memkb: Option<serde_json::Value>,
}

/// Build the inventory from `xl list -v` output and the `xl list -l` details: every domain
/// but the control domain (ID 0).
pub fn domains_from_xl_list(
    output: &str,
    details: &HashMap<String, XlDomainDetails>,
) -> Result<Vec<Domain>, XlListError> {
    parse_xl_list(output)?
        .into_iter()
        .filter(|entry| entry.domid != CONTROL_DOMAIN_ID)
        .map(|entry| {
            let state = entry.state();
            let uuid = entry
                .uuid
                .ok_or_else(|| XlListError::MissingUuid(entry.name.clone()))?;
            let memory_kb = entry.memory_mib * 1024;
            let detail = details.get(&uuid);
            Ok(Domain {
                name: entry.name,
                state,
                memory_kb,
                max_memory_kb: detail.and_then(|d| d.max_memory_kb).unwrap_or(memory_kb),
                vcpus: entry.vcpus,
                vm_type: detail.and_then(|d| d.vm_type),
                uuid,
            })
        })
        .collect()
}

/// Read one domain line; `None` if it does not have the expected form.
fn parse_line(line: &str, fixed_fields: usize, verbose: bool) -> Option<XlListEntry> {
    let field_starts = field_start_offsets(line);
    if field_starts.len() <= fixed_fields {
        return None;
    }
    let first_fixed = field_starts[field_starts.len() - fixed_fields];
    let name = line[..first_fixed].trim();
    let mut fields = line[first_fixed..].split_whitespace();
    let domid = fields.next()?.parse().ok()?;
    let memory_mib = fields.next()?.parse().ok()?;
    let vcpus = fields.next()?.parse().ok()?;
    let flags = fields.next()?;
    if flags.chars().count() != 6 {
        return None;
    }
    let _cpu_seconds: f64 = fields.next()?.parse().ok()?;
    let uuid = if verbose {
        let uuid = fields.next()?;
        if !is_uuid(uuid) {
            return None;
        }
        Some(uuid.to_ascii_lowercase())
    } else {
        None
    };
    Some(XlListEntry {
        name: name.to_owned(),
        domid,
        memory_mib,
        vcpus,
        flags: flags.to_owned(),
        uuid,
    })
}

/// Byte offsets where each whitespace-separated field of `line` starts.
fn field_start_offsets(line: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut in_field = false;
    for (offset, character) in line.char_indices() {
        if character.is_whitespace() {
            in_field = false;
        } else if !in_field {
            in_field = true;
            starts.push(offset);
        }
    }
    starts
}

/// Map the six State positions `r b p s <reason> d` to a [`VmState`].
fn state_from_flags(flags: &str) -> VmState {
    let flag_at = |position: usize| flags.chars().nth(position).unwrap_or('-');
    let dying = flag_at(5) == 'd';
    let shut_down = flag_at(3) == 's';
    let shutdown_reason = flag_at(4);
    if dying {
        VmState::Stopped
    } else if shut_down && shutdown_reason == 'c' {
        VmState::Crashed
    } else if shut_down {
        VmState::Stopped
    } else if flag_at(2) == 'p' {
        VmState::Paused
    } else if flag_at(0) == 'r' {
        VmState::Running
    } else {
        // `b` (blocked, waiting for an event) and `------` (runnable, not on a CPU).
        VmState::Idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verbatim from the xenlab README (plain `xl list` in a Xen 4.17 dom0).
    const XENLAB_PLAIN: &str = "\
Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0  1024     1     r-----      52.3
domu1                                        1   128     1     r-----       8.4
";

    /// `xl list -v` as Xen 4.17 prints it, with a name longer than the 40-column pad.
    const VERBOSE: &str = "\
Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID                            Reason-Code\tSecurity Label
Domain-0                                     0  1024     1     r-----      52.3 00000000-0000-0000-0000-000000000000        -                -
domu1                                        1   128     1     -b----       8.4 4F1C0E6A-3c2d-4b8e-9a51-2a7d3c9e8f10        -                -
web-frontend-with-a-really-long-name-over-forty 7  2048     4     --p---     120.0 0b5e3f7c-1111-4222-8333-944455556666        -                -
crashed                                      9   512     2     ---sc-       3.1 9a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d        3                -
";

    #[test]
    fn reads_the_xenlab_plain_listing() {
        let entries = parse_xl_list(XENLAB_PLAIN).expect("parses");
        assert_eq!(
            entries,
            vec![
                XlListEntry {
                    name: "Domain-0".into(),
                    domid: 0,
                    memory_mib: 1024,
                    vcpus: 1,
                    flags: "r-----".into(),
                    uuid: None,
                },
                XlListEntry {
                    name: "domu1".into(),
                    domid: 1,
                    memory_mib: 128,
                    vcpus: 1,
                    flags: "r-----".into(),
                    uuid: None,
                },
            ]
        );
        assert_eq!(entries[1].state(), VmState::Running);
    }

    #[test]
    fn plain_listing_lacks_uuids_for_the_inventory() {
        assert_eq!(
            domains_from_xl_list(XENLAB_PLAIN, &HashMap::new()),
            Err(XlListError::MissingUuid("domu1".into()))
        );
    }

    #[test]
    fn verbose_listing_becomes_domains_without_domain0() {
        let domains = domains_from_xl_list(VERBOSE, &HashMap::new()).expect("parses");
        assert_eq!(domains.len(), 3);
        assert_eq!(
            domains[0],
            Domain {
                uuid: "4f1c0e6a-3c2d-4b8e-9a51-2a7d3c9e8f10".into(),
                name: "domu1".into(),
                state: VmState::Idle,
                memory_kb: 128 * 1024,
                max_memory_kb: 128 * 1024,
                vcpus: 1,
                vm_type: None,
            }
        );
        assert_eq!(
            domains[1].name,
            "web-frontend-with-a-really-long-name-over-forty"
        );
        assert_eq!(domains[1].state, VmState::Paused);
        assert_eq!(domains[1].vcpus, 4);
        assert_eq!(domains[2].state, VmState::Crashed);
    }

    /// Trimmed `xl list -l` from a Xen 4.17 dom0 after `xl mem-max domu1 256m`, with the
    /// control domain's "default" ceiling.
    const LONG: &str = r#"[
    {
        "domid": 0,
        "config": {
            "c_info": { "type": "pv", "name": "Domain-0", "uuid": "00000000-0000-0000-0000-000000000000" },
            "b_info": { "max_vcpus": 1, "max_memkb": 18446744073709551615 }
        }
    },
    {
        "domid": 1,
        "config": {
            "c_info": { "type": "pv", "name": "domu1", "uuid": "4F1C0E6A-3c2d-4b8e-9a51-2a7d3c9e8f10", "run_hotplug_scripts": "True" },
            "b_info": { "max_vcpus": 1, "avail_vcpus": [0], "max_memkb": 262144, "target_memkb": 102400 },
            "disks": [],
            "nics": [ { "backend_domid": 0, "bridge": "xenbr0" } ]
        }
    },
    {
        "domid": 7,
        "config": {
            "c_info": { "type": "pvh", "name": "web", "uuid": "0b5e3f7c-1111-4222-8333-944455556666" },
            "b_info": { "max_memkb": 4194304 }
        }
    }
]
"#;

    #[test]
    fn long_listing_supplies_ceiling_and_type() {
        let details = parse_xl_list_long(LONG).expect("parses");
        assert_eq!(
            details.get("4f1c0e6a-3c2d-4b8e-9a51-2a7d3c9e8f10"),
            Some(&XlDomainDetails {
                max_memory_kb: Some(262144),
                vm_type: Some(VmType::Pv)
            })
        );
        assert_eq!(
            details.get("00000000-0000-0000-0000-000000000000"),
            Some(&XlDomainDetails {
                max_memory_kb: None,
                vm_type: Some(VmType::Pv)
            })
        );
        let domains = domains_from_xl_list(VERBOSE, &details).expect("parses");
        assert_eq!(domains[0].max_memory_kb, 262144);
        assert_eq!(domains[0].vm_type, Some(VmType::Pv));
        assert_eq!(domains[1].max_memory_kb, 4194304);
        assert_eq!(domains[1].vm_type, None);
        // Not in the long listing: the ceiling falls back to the current memory.
        assert_eq!(domains[2].max_memory_kb, 512 * 1024);
        assert!(parse_xl_list_long("(domain (domid 1))").is_err());
    }

    #[test]
    fn state_flags_follow_the_documented_precedence() {
        let cases = [
            ("r-----", VmState::Running),
            ("-b----", VmState::Idle),
            ("------", VmState::Idle),
            ("--p---", VmState::Paused),
            ("-bp---", VmState::Paused),
            ("---s--", VmState::Stopped),
            ("---sr-", VmState::Stopped),
            ("---ss-", VmState::Stopped),
            ("---sc-", VmState::Crashed),
            ("-----d", VmState::Stopped),
            ("---scd", VmState::Stopped),
        ];
        for (flags, expected) in cases {
            assert_eq!(state_from_flags(flags), expected, "flags {flags}");
        }
    }

    #[test]
    fn header_only_means_no_domains() {
        let header = XENLAB_PLAIN.lines().next().expect("header");
        assert_eq!(parse_xl_list(header), Ok(vec![]));
    }

    #[test]
    fn rejects_output_that_is_not_a_listing() {
        assert_eq!(parse_xl_list(""), Err(XlListError::MissingHeader));
        assert_eq!(
            parse_xl_list("libxl: error: cannot connect to xenstored\n"),
            Err(XlListError::MissingHeader)
        );
        let truncated = format!("{}domu2    3   128\n", XENLAB_PLAIN);
        assert_eq!(
            parse_xl_list(&truncated),
            Err(XlListError::BadLine {
                line_number: 4,
                line: "domu2    3   128".into()
            })
        );
        let bad_uuid = VERBOSE.replace("4F1C0E6A-3c2d", "not-a-uuid-3c2d");
        assert!(matches!(
            parse_xl_list(&bad_uuid),
            Err(XlListError::BadLine { line_number: 3, .. })
        ));
    }
}
