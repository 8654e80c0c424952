//! Whether the generated code can name pgadget `::pgadget`, when the attribute has no
//! `crate = path`.
//!
//! A proc macro cannot see the crate's dependencies, but it runs inside the compiler, whose
//! command line names each of them: Cargo (and Bazel, Buck) pass `--extern name=path`. When
//! that line shows pgadget under another name, or not at all, the attribute says so with the
//! fix, instead of the compiler's "use of unresolved crate `pgadget`, use `cargo add
//! pgadget`". When it shows no `--extern` at all (rust-analyzer, an argument file), nothing is
//! known and `::pgadget` is used as always.

use std::ffi::OsString;
use std::path::Path;

/// What the compiler's command line says about pgadget.
#[derive(Debug, PartialEq, Eq)]
pub enum Dependency {
    /// `::pgadget` names it, or nothing is known.
    AsPgadget,
    /// The crate is a dependency under this other name.
    Renamed(String),
    /// The command line names dependencies, and pgadget is not among them.
    Missing,
}

/// What this compiler process's command line says.
pub fn pgadget_crate() -> Dependency {
    from_args(std::env::args_os())
}

fn from_args(args: impl IntoIterator<Item = OsString>) -> Dependency {
    let mut externs: Vec<(String, Option<String>)> = Vec::new();
    let mut args = args.into_iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        let value = if arg == "--extern" {
            args.next()
        } else {
            arg.strip_prefix("--extern=").map(str::to_string)
        };
        if let Some(value) = value {
            // `[modifiers:]name[=path]`, as in `noprelude:name=path`.
            let (name, path) = match value.split_once('=') {
                Some((name, path)) => (name, Some(path.to_string())),
                None => (value.as_str(), None),
            };
            let name = name.rsplit(':').next().unwrap_or(name).to_string();
            externs.push((name, path));
        }
    }
    if externs.is_empty() || externs.iter().any(|(name, _)| name == "pgadget") {
        return Dependency::AsPgadget;
    }
    let renamed = externs.into_iter().find(|(_, path)| {
        path.as_deref()
            .and_then(|p| Path::new(p).file_name())
            .is_some_and(|file| is_pgadget_library(&file.to_string_lossy()))
    });
    match renamed {
        Some((name, _)) => Dependency::Renamed(name),
        None => Dependency::Missing,
    }
}

/// `libpgadget-<hash>.rlib` or `.rmeta` (the file name comes from the crate's own name,
/// whatever the dependency is called), or the same without the hash.
fn is_pgadget_library(file: &str) -> bool {
    let Some(rest) = file.strip_prefix("libpgadget") else {
        return false;
    };
    let stem = rest
        .strip_suffix(".rlib")
        .or_else(|| rest.strip_suffix(".rmeta"));
    match stem {
        Some("") => true,
        Some(hash) => hash
            .strip_prefix('-')
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric())),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Dependency {
        from_args(line.split(' ').map(OsString::from))
    }

    #[test]
    fn pgadget_by_its_own_name_or_no_extern_at_all_is_the_default() {
        assert_eq!(
            args("rustc --crate-name app --extern pgadget=/t/deps/libpgadget-0a1b.rlib"),
            Dependency::AsPgadget
        );
        assert_eq!(
            args("rustc --extern=pgadget=/t/libpgadget-0a1b.rmeta"),
            Dependency::AsPgadget
        );
        assert_eq!(args("proc-macro-srv"), Dependency::AsPgadget);
    }

    #[test]
    fn a_renamed_dependency_is_found_by_its_library_file() {
        assert_eq!(
            args(
                "rustc --extern serde=/t/libserde-99.rmeta --extern energy=/t/deps/libpgadget-0a1b2c.rmeta"
            ),
            Dependency::Renamed("energy".into())
        );
        assert_eq!(
            args("rustc --extern noprelude:energy=/t/libpgadget.rlib"),
            Dependency::Renamed("energy".into())
        );
    }

    #[test]
    fn other_crates_with_a_similar_name_are_not_pgadget() {
        assert_eq!(
            args(
                "rustc --extern pg=/t/libpgadget_runtime-0a.rlib --extern x=/t/libpgadgets-1.rlib"
            ),
            Dependency::Missing
        );
        assert_eq!(args("rustc --extern proc_macro"), Dependency::Missing);
    }
}
