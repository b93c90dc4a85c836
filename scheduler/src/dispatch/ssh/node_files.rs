//! What the `ssh` transport keeps as files on the node, through short `sh` scripts that
//! take every value as a positional argument (never as shell text):
//!
//! - domain configurations `<config_dir>/<name>.cfg`: written by `define`, rewritten after
//!   a change so the next boot has it (only when Zentific wrote the file; a domain defined
//!   outside Zentific keeps its own configuration, and its changes are live only);
//! - volumes of `dir` pools: sparse files made with `truncate`, removed with `rm`;
//! - snapshots of stopped VMs: copies of their file-backed disks under
//!   `<config_dir>/snapshots/<name>/<snapshot>/` (`cp --sparse=always --reflink=auto`,
//!   cheap on btrfs and XFS), with a manifest of which file each copy belongs to. Disks on
//!   block devices (LVM) and running VMs are refused: copying a disk under a running guest
//!   gives an inconsistent snapshot, and LVM snapshots are not implemented.

use super::master::{IfConnectionLost, RemoteCommand};
use super::{SshDispatcher, XlConfigError, render_xl_config, validate_domain_name};
use crate::dispatch::{DispatchError, DomainSpec};

/// Writes a domain configuration read from stdin to `$1/$2` atomically: replaces a file
/// for the same UUID (`$3`), refuses one for another domain. With `$4` = `existing`, does
/// nothing (and prints `absent`) when there is no file.
const WRITE_CONFIG_SCRIPT: &str = r#"set -e
dir=$1 file=$1/$2 uuid=$3
if [ "$4" = existing ] && [ ! -e "$file" ]; then echo absent; exit 0; fi
tmp=$dir/.$2.$$
trap 'rm -f "$tmp"' EXIT
mkdir -p "$dir"
cat > "$tmp"
if [ -e "$file" ] && ! grep -qx "uuid = \"$uuid\"" "$file"; then
    echo "$file already exists for another domain (uuid is not $uuid)" >&2
    exit 1
fi
mv -f "$tmp" "$file""#;

/// Removes `$1/$2.cfg` (and the domain's snapshots) if it is the domain with UUID `$3`.
const REMOVE_CONFIG_SCRIPT: &str = r#"set -e
file=$1/$2.cfg
if [ ! -e "$file" ]; then echo "$file does not exist: the domain was not defined by Zentific" >&2; exit 1; fi
if ! grep -qx "uuid = \"$3\"" "$file"; then echo "$file belongs to another domain (uuid is not $3)" >&2; exit 1; fi
rm -f "$file"
rm -rf "$1/snapshots/$2""#;

/// Creates the sparse file `$2` of `$3` KiB in the pool directory `$1`.
const CREATE_VOLUME_SCRIPT: &str = r#"set -e
mkdir -p "$1"
if [ -e "$2" ]; then echo "$2 already exists" >&2; exit 1; fi
truncate -s "$3"K "$2""#;

/// Removes the volume file `$1`.
const DELETE_VOLUME_SCRIPT: &str = r#"set -e
if [ ! -f "$1" ]; then echo "$1 does not exist or is not a file" >&2; exit 1; fi
rm -f "$1""#;

/// Copies the disks listed on stdin (`vdev path` lines) into the new snapshot `$1`.
const SNAPSHOT_SCRIPT: &str = r#"set -e
dir=$1
if [ -e "$dir" ]; then echo "snapshot $dir already exists" >&2; exit 1; fi
mkdir -p "$dir.partial"
trap 'rm -rf "$dir.partial"' EXIT
: > "$dir.partial/manifest"
while read -r vdev path; do
    [ -n "$vdev" ] || continue
    cp --sparse=always --reflink=auto -- "$path" "$dir.partial/$vdev.img"
    printf '%s %s\n' "$vdev" "$path" >> "$dir.partial/manifest"
done
mv "$dir.partial" "$dir"
trap - EXIT"#;

/// Copies the disks of snapshot `$1` back over the files they came from.
const REVERT_SCRIPT: &str = r#"set -e
dir=$1
if [ ! -f "$dir/manifest" ]; then echo "no snapshot at $dir" >&2; exit 1; fi
while read -r vdev path; do
    cp --sparse=always --reflink=auto -- "$dir/$vdev.img" "$path.zentific-revert"
    mv -f -- "$path.zentific-revert" "$path"
done < "$dir/manifest""#;

/// Removes snapshot `$1`.
const DELETE_SNAPSHOT_SCRIPT: &str = r#"set -e
if [ ! -f "$1/manifest" ]; then echo "no snapshot at $1" >&2; exit 1; fi
rm -rf -- "$1""#;

/// Lists the snapshots under `$1`, one name per line.
const LIST_SNAPSHOTS_SCRIPT: &str = r#"[ -d "$1" ] || exit 0
for dir in "$1"/*/; do
    [ -f "$dir/manifest" ] && basename "$dir"
done
exit 0"#;

/// A snapshot name usable as a directory: the store's names (letters, digits, `.`, `_`,
/// `-`), not starting with `.`.
fn check_snapshot_name(name: &str) -> Result<(), DispatchError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DispatchError::Failed(format!(
            "{name:?} is not usable as a snapshot name on an xl node"
        )))
    }
}

/// The `(vdev, path)` pairs of the `disk = [ … ]` line of a configuration Zentific wrote.
pub(super) fn disks_of_config(config: &str) -> Vec<(String, String)> {
    let Some(line) = config
        .lines()
        .find(|line| line.trim_start().starts_with("disk ="))
    else {
        return Vec::new();
    };
    line.split('\'')
        .skip(1)
        .step_by(2)
        .filter_map(|entry| {
            let mut vdev = None;
            let mut target = None;
            for part in entry.split(',').map(str::trim) {
                if let Some(v) = part.strip_prefix("vdev=") {
                    vdev = Some(v.to_owned());
                } else if let Some(t) = part.strip_prefix("target=") {
                    target = Some(t.to_owned());
                }
            }
            Some((vdev?, target?))
        })
        .collect()
}

fn config_error(error: XlConfigError) -> DispatchError {
    DispatchError::Failed(error.to_string())
}

impl SshDispatcher {
    /// Run `sh -c SCRIPT` with `args` as `$1…`; a non-zero exit is [`DispatchError::Failed`]
    /// with the script's own words. Returns stdout.
    fn script(
        &self,
        what: &str,
        script: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
    ) -> Result<String, DispatchError> {
        let mut all = vec![
            "-c".to_owned(),
            script.to_owned(),
            format!("zentific-{what}"),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let output = self.connection.run(&RemoteCommand {
            program: "sh",
            args: all,
            stdin,
            // Each script checks before it changes anything, so running one twice after a
            // lost connection reports what the first run did.
            if_connection_lost: IfConnectionLost::Fail,
        })?;
        if output.exit_code != 0 {
            let reason = output.stderr.trim();
            return Err(DispatchError::Failed(if reason.is_empty() {
                format!(
                    "{what} failed on the node with exit code {}",
                    output.exit_code
                )
            } else {
                reason.to_owned()
            }));
        }
        Ok(output.stdout)
    }

    /// Write `<config_dir>/<name>.cfg` for `spec`; with `only_existing`, only when the file
    /// is there already. Returns whether it was written.
    pub(super) fn write_config(
        &self,
        spec: &DomainSpec,
        only_existing: bool,
    ) -> Result<bool, DispatchError> {
        let config = render_xl_config(spec).map_err(config_error)?;
        let file = format!("{}.cfg", spec.name);
        let uuid = spec.uuid.to_ascii_lowercase();
        let mode = if only_existing { "existing" } else { "any" };
        let out = self.script(
            "define",
            WRITE_CONFIG_SCRIPT,
            &[&self.config_dir, &file, &uuid, mode],
            Some(config.as_bytes()),
        )?;
        Ok(out.trim() != "absent")
    }

    /// Whether Zentific keeps a configuration for the domain on the node.
    pub(super) fn has_config(&self, name: &str) -> Result<bool, DispatchError> {
        validate_domain_name(name).map_err(config_error)?;
        let out = self.script(
            "has-config",
            r#"[ -f "$1/$2.cfg" ] && echo yes || echo no"#,
            &[&self.config_dir, name],
            None,
        )?;
        Ok(out.trim() == "yes")
    }

    /// The domain's configuration file, as written.
    fn read_config(&self, name: &str) -> Result<String, DispatchError> {
        validate_domain_name(name).map_err(config_error)?;
        self.script(
            "read-config",
            r#"cat -- "$1/$2.cfg""#,
            &[&self.config_dir, name],
            None,
        )
    }

    /// Remove the domain's configuration and snapshots.
    pub(super) fn remove_config(&self, name: &str, uuid: &str) -> Result<(), DispatchError> {
        validate_domain_name(name).map_err(config_error)?;
        let uuid = uuid.to_ascii_lowercase();
        self.script(
            "undefine",
            REMOVE_CONFIG_SCRIPT,
            &[&self.config_dir, name, &uuid],
            None,
        )
        .map(drop)
    }

    fn snapshot_dir(&self, domain: &str, snapshot: &str) -> Result<String, DispatchError> {
        validate_domain_name(domain).map_err(config_error)?;
        check_snapshot_name(snapshot)?;
        Ok(format!("{}/snapshots/{domain}/{snapshot}", self.config_dir))
    }

    /// Copy the stopped domain's file-backed disks into snapshot `snapshot`.
    pub(super) fn copy_snapshot(&self, domain: &str, snapshot: &str) -> Result<(), DispatchError> {
        let dir = self.snapshot_dir(domain, snapshot)?;
        if !self.has_config(domain)? {
            return Err(DispatchError::NoSuchDomain(format!(
                "{domain} has no configuration in {}: xl nodes snapshot the VMs Zentific defined, whose disks it knows",
                self.config_dir
            )));
        }
        let disks = disks_of_config(&self.read_config(domain)?);
        if let Some((vdev, path)) = disks.iter().find(|(_, path)| path.starts_with("/dev/")) {
            return Err(DispatchError::Refused(format!(
                "{domain}'s disk {vdev} is the block device {path}; xl nodes snapshot file-backed disks only"
            )));
        }
        let manifest: String = disks
            .iter()
            .map(|(vdev, path)| format!("{vdev} {path}\n"))
            .collect();
        self.script(
            "snapshot",
            SNAPSHOT_SCRIPT,
            &[&dir],
            Some(manifest.as_bytes()),
        )
        .map(drop)
    }

    /// Copy snapshot `snapshot`'s disks back.
    pub(super) fn restore_snapshot(
        &self,
        domain: &str,
        snapshot: &str,
    ) -> Result<(), DispatchError> {
        let dir = self.snapshot_dir(domain, snapshot)?;
        self.script("revert", REVERT_SCRIPT, &[&dir], None)
            .map(drop)
    }

    /// Remove snapshot `snapshot`.
    pub(super) fn remove_snapshot(
        &self,
        domain: &str,
        snapshot: &str,
    ) -> Result<(), DispatchError> {
        let dir = self.snapshot_dir(domain, snapshot)?;
        self.script("delete-snapshot", DELETE_SNAPSHOT_SCRIPT, &[&dir], None)
            .map(drop)
    }

    /// The names of the domain's snapshots.
    pub(super) fn list_snapshots(&self, domain: &str) -> Result<Vec<String>, DispatchError> {
        validate_domain_name(domain).map_err(config_error)?;
        let dir = format!("{}/snapshots/{domain}", self.config_dir);
        let out = self.script("snapshots", LIST_SNAPSHOTS_SCRIPT, &[&dir], None)?;
        Ok(out.lines().map(str::to_owned).collect())
    }

    /// Create a volume file in a `dir` pool.
    pub(super) fn create_volume_file(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        check_dir_pool(pool, volume)?;
        let size = volume.capacity_kb.to_string();
        self.script(
            "create-volume",
            CREATE_VOLUME_SCRIPT,
            &[&pool.path, &volume.path, &size],
            None,
        )
        .map(drop)
    }

    /// Remove a volume file from a `dir` pool.
    pub(super) fn delete_volume_file(
        &self,
        pool: &zentific_sql::Pool,
        volume: &zentific_sql::Volume,
    ) -> Result<(), DispatchError> {
        check_dir_pool(pool, volume)?;
        self.script("delete-volume", DELETE_VOLUME_SCRIPT, &[&volume.path], None)
            .map(drop)
    }
}

/// Only `dir` pools, and only a volume path directly inside the pool's directory.
fn check_dir_pool(
    pool: &zentific_sql::Pool,
    volume: &zentific_sql::Volume,
) -> Result<(), DispatchError> {
    if pool.kind != "dir" {
        return Err(DispatchError::Refused(format!(
            "pool '{}' is a {} pool; xl nodes make volumes in dir pools only",
            pool.name, pool.kind
        )));
    }
    let inside = volume
        .path
        .strip_prefix(pool.path.trim_end_matches('/'))
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| !name.is_empty() && !name.contains('/') && name != "." && name != "..");
    if !inside || !pool.path.starts_with('/') {
        return Err(DispatchError::Failed(format!(
            "volume path {:?} is not a file directly in pool directory {:?}",
            volume.path, pool.path
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks_are_read_from_a_written_configuration() {
        let config = "name = \"web1\"\ndisk = [ 'format=raw, vdev=xvda, access=rw, target=/srv/web1.img', 'format=raw, vdev=xvdb, access=ro, target=/dev/vg0/iso' ]\nvif = [ 'mac=00:16:3e:12:34:56,bridge=xenbr0' ]\n";
        assert_eq!(
            disks_of_config(config),
            [
                ("xvda".to_string(), "/srv/web1.img".to_string()),
                ("xvdb".to_string(), "/dev/vg0/iso".to_string())
            ]
        );
        assert!(disks_of_config("disk = [  ]\n").is_empty());
    }

    #[test]
    fn snapshot_names_and_volume_paths_stay_in_their_directories() {
        assert!(check_snapshot_name("clean-2026.12").is_ok());
        for bad in ["", "..", ".hidden", "a/b", "a b"] {
            assert!(check_snapshot_name(bad).is_err(), "{bad}");
        }
        let pool = zentific_sql::Pool {
            id: 1,
            node_id: 1,
            name: "images".into(),
            kind: "dir".into(),
            path: "/srv/xen/".into(),
            capacity_kb: 1 << 20,
            allocation_kb: 0,
        };
        let volume = |path: &str| zentific_sql::Volume {
            id: 1,
            pool_id: 1,
            name: "a.img".into(),
            path: path.into(),
            capacity_kb: 1024,
            allocation_kb: 0,
            state: "adding".into(),
        };
        assert!(check_dir_pool(&pool, &volume("/srv/xen/a.img")).is_ok());
        for bad in [
            "/srv/xen/../etc/a.img",
            "/srv/xen/sub/a.img",
            "/srv/xena.img",
            "/srv/xen/",
        ] {
            assert!(check_dir_pool(&pool, &volume(bad)).is_err(), "{bad}");
        }
    }
}
