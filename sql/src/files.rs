//! The SQLite file's permissions: it holds password hashes, node credentials and poller
//! tokens, so it and its `-wal` and `-shm` companions are readable by the server's user
//! only (mode 0600), whatever the umask.

use std::fs::{OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const PRIVATE: u32 = 0o600;

/// Create the database file with mode 0600 if it is missing, and take group and other
/// access away from an existing one.
pub(crate) fn create_private(path: &Path) -> io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(PRIVATE)
        .open(path)?;
    restrict(path)
}

/// Apply mode 0600 to the database's `-wal` and `-shm` files where they exist. (SQLite
/// gives them the database file's mode when it creates them; this covers files left by
/// an earlier version.)
pub(crate) fn restrict_sidecars(path: &Path) -> io::Result<()> {
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let sidecar = PathBuf::from(name);
        if sidecar.exists() {
            restrict(&sidecar)?;
        }
    }
    Ok(())
}

fn restrict(path: &Path) -> io::Result<()> {
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, Permissions::from_mode(mode & 0o700 | PRIVATE))?;
    }
    Ok(())
}
