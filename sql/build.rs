//! Rebuild when a migration changes: `embed_migrations!` reads the directory at compile
//! time, and cargo does not know to look at it otherwise.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
