//! Finds libxenstat with pkg-config (`xenstat.pc`) and emits its link flags.
//!
//! With the `bindgen` feature it also regenerates the bindings from `wrapper.h` into
//! `$OUT_DIR/bindings.rs`; without it the checked-in `src/bindings.rs` is used and no
//! libclang is needed.

use std::path::PathBuf;

/// The Debian package that ships `xenstat.h`, `libxenstat.so` and `xenstat.pc`.
const DEBIAN_PACKAGE: &str = "libxen-dev";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=wrapper.h");

    // pkg-config prints the cargo:rustc-link-* lines itself (and honours PKG_CONFIG_PATH,
    // XENSTAT_NO_PKG_CONFIG, XENSTAT_STATIC and friends).
    let library = match pkg_config::Config::new().probe("xenstat") {
        Ok(library) => library,
        Err(error) => {
            let message = format!(
                "libxenstat was not found by pkg-config (package `xenstat`). \
                 Install its development files: `apt-get install {DEBIAN_PACKAGE}` on Debian/Ubuntu \
                 (xen-devel or xen-libs-devel elsewhere), or point PKG_CONFIG_PATH at xenstat.pc.\n\
                 What pkg-config said:\n{error}"
            );
            // One line per cargo::error directive.
            for line in message.lines() {
                println!("cargo::error={line}");
            }
            return;
        }
    };
    // Dependents that compile C against libxenstat can read DEP_XENSTAT_INCLUDE.
    let include = std::env::join_paths(&library.include_paths).unwrap_or_default();
    println!("cargo::metadata=include={}", include.to_string_lossy());

    generate_bindings(&library.include_paths);
}

#[cfg(feature = "bindgen")]
fn generate_bindings(include_paths: &[PathBuf]) {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(
            include_paths
                .iter()
                .map(|path| format!("-I{}", path.display())),
        )
        .allowlist_function("xenstat_.*")
        .allowlist_type("xenstat_.*")
        .allowlist_var("XENSTAT_.*")
        .ctypes_prefix("::core::ffi")
        .merge_extern_blocks(true)
        .rust_edition(bindgen::RustEdition::Edition2024)
        .rust_target(bindgen::RustTarget::stable(85, 0).expect("a known Rust version"))
        .generate_cstr(true)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen could not translate wrapper.h");
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("could not write bindings.rs to OUT_DIR");
}

#[cfg(not(feature = "bindgen"))]
fn generate_bindings(_include_paths: &[PathBuf]) {}
