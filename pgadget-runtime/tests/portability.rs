//! The runtime builds on Linux, macOS and Windows: checked by reading its sources.
//!
//! A `cargo check --target x86_64-pc-windows-msvc` (or `aarch64-apple-darwin`) cannot run on
//! the machines pgadget is developed on: no standard library for those targets can be
//! installed there. So this test parses `src/` with syn, follows the `mod` declarations from
//! `lib.rs`, leaves out every module, item, statement, expression, match arm and field whose
//! `cfg` is false for the build, and checks what is left:
//!
//! - each OS compiles the modules listed in [`expected_modules`], with the default features,
//!   with none, and with all of them (the opt-in `postgres` and `prometheus` included);
//! - nothing compiled for Windows names `std::os::unix`, `libc` (but for the C runtime's
//!   `libc::atexit`) or a method of Unix's `FileExt` (`read_at`, `write_all_at`, ...);
//! - nothing compiled for macOS or Windows names a path under `/proc` or `/sys`;
//! - nothing compiled for Linux or macOS names `std::os::windows` or `windows_sys`.
//!
//! The library and its unit tests (`cfg(test)`) are both checked. A `cfg` this test does not
//! know (say `target_arch`) fails it rather than being guessed at. What it cannot see: code
//! that would fail to type-check for other reasons (a missing method on another OS's type).

use proc_macro2::{Span, TokenStream, TokenTree};
use std::path::{Path, PathBuf};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Attribute, Expr, ExprLit, Item, Lit, Meta, Token, UseTree};

/// What `cfg` sees of a target.
#[derive(Clone, Copy, Debug)]
struct Target {
    os: &'static str,
    family: &'static str,
    /// The C library: Linux is checked as glibc, Windows as MSVC, macOS has none named.
    env: &'static str,
}

const LINUX: Target = Target {
    os: "linux",
    family: "unix",
    env: "gnu",
};
const MACOS: Target = Target {
    os: "macos",
    family: "unix",
    env: "",
};
const WINDOWS: Target = Target {
    os: "windows",
    family: "windows",
    env: "msvc",
};

/// The features of `pgadget-runtime`'s default build.
const DEFAULT_FEATURES: &[&str] = &["geolocation", "nvml"];

/// Every feature, the opt-in ones included (what the command line builds).
const ALL_FEATURES: &[&str] = &["geolocation", "nvml", "postgres", "prometheus"];

/// One build: a target, the features it enables, and whether it is `cargo test`'s.
#[derive(Clone, Copy, Debug)]
struct Build {
    target: Target,
    features: &'static [&'static str],
    test: bool,
}

impl Build {
    /// Whether every `#[cfg(..)]` among `attrs` holds.
    fn enabled(&self, attrs: &[Attribute]) -> bool {
        attrs.iter().filter(|a| a.path().is_ident("cfg")).all(|a| {
            let predicate: Meta = a
                .parse_args()
                .unwrap_or_else(|e| panic!("unreadable cfg: {e}"));
            self.holds(&predicate)
        })
    }

    fn holds(&self, predicate: &Meta) -> bool {
        match predicate {
            Meta::Path(path) => match name(path).as_str() {
                "unix" => self.target.family == "unix",
                "windows" => self.target.family == "windows",
                "test" => self.test,
                other => panic!("unknown cfg `{other}`: teach tests/portability.rs its meaning"),
            },
            Meta::NameValue(pair) => {
                let Expr::Lit(ExprLit {
                    lit: Lit::Str(value),
                    ..
                }) = &pair.value
                else {
                    panic!("a cfg value that is not a string: {}", name(&pair.path));
                };
                let value = value.value();
                match name(&pair.path).as_str() {
                    "target_os" => value == self.target.os,
                    "target_family" => value == self.target.family,
                    "target_env" => value == self.target.env,
                    "feature" => self.features.contains(&value.as_str()),
                    other => {
                        panic!("unknown cfg `{other}`: teach tests/portability.rs its meaning")
                    }
                }
            }
            Meta::List(list) => {
                let inner: Vec<Meta> = list
                    .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                    .unwrap_or_else(|e| panic!("unreadable cfg: {e}"))
                    .into_iter()
                    .collect();
                match name(&list.path).as_str() {
                    "not" => {
                        assert_eq!(inner.len(), 1, "not(..) takes one predicate");
                        !self.holds(&inner[0])
                    }
                    "all" => inner.iter().all(|m| self.holds(m)),
                    "any" => inner.iter().any(|m| self.holds(m)),
                    other => {
                        panic!("unknown cfg `{other}(..)`: teach tests/portability.rs its meaning")
                    }
                }
            }
        }
    }
}

fn name(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

/// What one build compiles: its modules, and the paths, strings and method names in its code,
/// each with where it is (`file:line`).
#[derive(Debug, Default)]
struct Compiled {
    modules: Vec<String>,
    paths: Vec<(String, String)>,
    strings: Vec<(String, String)>,
    methods: Vec<(String, String)>,
}

/// Walks the modules of one build from its root file.
struct Walker<'a> {
    build: &'a Build,
    src: PathBuf,
    file: PathBuf,
    /// Where the files of the current module's child modules are.
    dir: PathBuf,
    module: Vec<String>,
    out: Compiled,
}

/// Everything `build` compiles, starting from `root` (a `lib.rs`).
fn compile(root: &Path, build: &Build) -> Compiled {
    let src = root.parent().expect("the root file is in a directory");
    let mut walker = Walker {
        build,
        src: src.to_path_buf(),
        file: root.to_path_buf(),
        dir: src.to_path_buf(),
        module: Vec::new(),
        out: Compiled::default(),
    };
    let file = parse(root);
    if build.enabled(&file.attrs) {
        walker.visit_file(&file);
    }
    walker.out
}

fn parse(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

impl Walker<'_> {
    fn at(&self, span: Span) -> String {
        let file = self.file.strip_prefix(&self.src).unwrap_or(&self.file);
        format!("{}:{}", file.display(), span.start().line)
    }

    fn record_path(&mut self, path: String, span: Span) {
        let at = self.at(span);
        self.out.paths.push((at, path));
    }

    fn enter_module(&mut self, module: &syn::ItemMod) {
        assert!(
            !module.attrs.iter().any(|a| a.path().is_ident("path")),
            "#[path] on `mod {}` is not followed by tests/portability.rs",
            module.ident
        );
        let name = module.ident.to_string();
        self.module.push(name.clone());
        self.out.modules.push(self.module.join("::"));
        let saved = (self.file.clone(), self.dir.clone());
        match &module.content {
            Some((_, items)) => {
                self.dir = self.dir.join(&name);
                for item in items {
                    self.visit_item(item);
                }
            }
            None => {
                let flat = self.dir.join(format!("{name}.rs"));
                let nested = self.dir.join(&name).join("mod.rs");
                let (file, dir) = if flat.is_file() {
                    (flat, self.dir.join(&name))
                } else if nested.is_file() {
                    (nested, self.dir.join(&name))
                } else {
                    panic!("`mod {name};` in {}: no file for it", self.file.display());
                };
                let parsed = parse(&file);
                self.file = file;
                self.dir = dir;
                // A file's inner attributes (`#![cfg(..)]`) gate the whole module.
                if self.build.enabled(&parsed.attrs) {
                    for item in &parsed.items {
                        self.visit_item(item);
                    }
                }
            }
        }
        (self.file, self.dir) = saved;
        self.module.pop();
    }

    /// Paths and strings in a macro's tokens that do not parse as expressions.
    fn scan(&mut self, tokens: TokenStream) {
        let mut path: Vec<String> = Vec::new();
        let mut span = Span::call_site();
        let mut colons = 0;
        let flush = |walker: &mut Self, path: &mut Vec<String>, span: Span| {
            if !path.is_empty() {
                walker.record_path(path.join("::"), span);
                path.clear();
            }
        };
        for tree in tokens {
            match tree {
                TokenTree::Ident(ident) => {
                    if colons != 2 {
                        flush(self, &mut path, span);
                        span = ident.span();
                    }
                    path.push(ident.to_string());
                    colons = 0;
                }
                TokenTree::Punct(p) if p.as_char() == ':' => colons += 1,
                TokenTree::Group(group) => {
                    flush(self, &mut path, span);
                    colons = 0;
                    self.scan(group.stream());
                }
                TokenTree::Literal(literal) => {
                    flush(self, &mut path, span);
                    colons = 0;
                    if let Lit::Str(s) = Lit::new(literal) {
                        self.visit_lit_str(&s);
                    }
                }
                TokenTree::Punct(_) => {
                    flush(self, &mut path, span);
                    colons = 0;
                }
            }
        }
        flush(self, &mut path, span);
    }
}

fn flatten(tree: &UseTree, prefix: &str, out: &mut Vec<(String, Span)>) {
    let join = |ident: &syn::Ident| {
        if prefix.is_empty() {
            ident.to_string()
        } else {
            format!("{prefix}::{ident}")
        }
    };
    match tree {
        UseTree::Path(p) => flatten(&p.tree, &join(&p.ident), out),
        UseTree::Name(n) => out.push((join(&n.ident), n.ident.span())),
        UseTree::Rename(r) => out.push((join(&r.ident), r.ident.span())),
        UseTree::Glob(g) => out.push((format!("{prefix}::*"), g.star_token.span)),
        UseTree::Group(g) => {
            for tree in &g.items {
                flatten(tree, prefix, out);
            }
        }
    }
}

fn item_attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn expr_attrs(expr: &Expr) -> &[Attribute] {
    match expr {
        Expr::Array(e) => &e.attrs,
        Expr::Assign(e) => &e.attrs,
        Expr::Async(e) => &e.attrs,
        Expr::Await(e) => &e.attrs,
        Expr::Binary(e) => &e.attrs,
        Expr::Block(e) => &e.attrs,
        Expr::Break(e) => &e.attrs,
        Expr::Call(e) => &e.attrs,
        Expr::Cast(e) => &e.attrs,
        Expr::Closure(e) => &e.attrs,
        Expr::Const(e) => &e.attrs,
        Expr::Continue(e) => &e.attrs,
        Expr::Field(e) => &e.attrs,
        Expr::ForLoop(e) => &e.attrs,
        Expr::Group(e) => &e.attrs,
        Expr::If(e) => &e.attrs,
        Expr::Index(e) => &e.attrs,
        Expr::Infer(e) => &e.attrs,
        Expr::Let(e) => &e.attrs,
        Expr::Lit(e) => &e.attrs,
        Expr::Loop(e) => &e.attrs,
        Expr::Macro(e) => &e.attrs,
        Expr::Match(e) => &e.attrs,
        Expr::MethodCall(e) => &e.attrs,
        Expr::Paren(e) => &e.attrs,
        Expr::Path(e) => &e.attrs,
        Expr::Range(e) => &e.attrs,
        Expr::RawAddr(e) => &e.attrs,
        Expr::Reference(e) => &e.attrs,
        Expr::Repeat(e) => &e.attrs,
        Expr::Return(e) => &e.attrs,
        Expr::Struct(e) => &e.attrs,
        Expr::Try(e) => &e.attrs,
        Expr::TryBlock(e) => &e.attrs,
        Expr::Tuple(e) => &e.attrs,
        Expr::Unary(e) => &e.attrs,
        Expr::Unsafe(e) => &e.attrs,
        Expr::While(e) => &e.attrs,
        Expr::Yield(e) => &e.attrs,
        _ => &[],
    }
}

impl<'ast> Visit<'ast> for Walker<'_> {
    // Doc comments and cfg predicates are not code.
    fn visit_attribute(&mut self, _: &'ast Attribute) {}

    fn visit_item(&mut self, item: &'ast Item) {
        if !self.build.enabled(item_attrs(item)) {
            return;
        }
        match item {
            Item::Mod(module) => self.enter_module(module),
            Item::Use(u) => {
                let mut paths = Vec::new();
                flatten(&u.tree, "", &mut paths);
                for (path, span) in paths {
                    self.record_path(path, span);
                }
            }
            _ => visit::visit_item(self, item),
        }
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attrs: &[Attribute] = match item {
            syn::ImplItem::Const(i) => &i.attrs,
            syn::ImplItem::Fn(i) => &i.attrs,
            syn::ImplItem::Type(i) => &i.attrs,
            syn::ImplItem::Macro(i) => &i.attrs,
            _ => &[],
        };
        if self.build.enabled(attrs) {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_trait_item(&mut self, item: &'ast syn::TraitItem) {
        let attrs: &[Attribute] = match item {
            syn::TraitItem::Const(i) => &i.attrs,
            syn::TraitItem::Fn(i) => &i.attrs,
            syn::TraitItem::Type(i) => &i.attrs,
            syn::TraitItem::Macro(i) => &i.attrs,
            _ => &[],
        };
        if self.build.enabled(attrs) {
            visit::visit_trait_item(self, item);
        }
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        let attrs: &[Attribute] = match stmt {
            syn::Stmt::Local(l) => &l.attrs,
            syn::Stmt::Macro(m) => &m.attrs,
            // Items and expressions are checked where they are visited.
            _ => &[],
        };
        if self.build.enabled(attrs) {
            visit::visit_stmt(self, stmt);
        }
    }

    fn visit_expr(&mut self, expr: &'ast Expr) {
        if self.build.enabled(expr_attrs(expr)) {
            visit::visit_expr(self, expr);
        }
    }

    fn visit_arm(&mut self, arm: &'ast syn::Arm) {
        if self.build.enabled(&arm.attrs) {
            visit::visit_arm(self, arm);
        }
    }

    fn visit_field(&mut self, field: &'ast syn::Field) {
        if self.build.enabled(&field.attrs) {
            visit::visit_field(self, field);
        }
    }

    fn visit_field_value(&mut self, field: &'ast syn::FieldValue) {
        if self.build.enabled(&field.attrs) {
            visit::visit_field_value(self, field);
        }
    }

    fn visit_variant(&mut self, variant: &'ast syn::Variant) {
        if self.build.enabled(&variant.attrs) {
            visit::visit_variant(self, variant);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if let Some(first) = path.segments.first() {
            self.record_path(name(path), first.ident.span());
        }
        visit::visit_path(self, path);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if self.build.enabled(&call.attrs) {
            let at = self.at(call.method.span());
            self.out.methods.push((at, call.method.to_string()));
            visit::visit_expr_method_call(self, call);
        }
    }

    fn visit_lit_str(&mut self, s: &'ast syn::LitStr) {
        let at = self.at(s.span());
        self.out.strings.push((at, s.value()));
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        // The arguments of format!, assert!, matches!, ... are expressions: walk them as code.
        match mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(args) => {
                for arg in &args {
                    self.visit_expr(arg);
                }
            }
            Err(_) => self.scan(mac.tokens.clone()),
        }
    }
}

/// What may not appear in the code one OS compiles.
fn violations(target: Target, compiled: &Compiled) -> Vec<String> {
    let mut found = Vec::new();
    let is_windows = target.family == "windows";
    for (at, path) in &compiled.paths {
        let path = path.trim_start_matches("::");
        // libc's Windows module has the C runtime's functions; `atexit` is the one pgadget
        // uses there (src/exit.rs). Everything else of libc is Unix's.
        let unix_only = path.starts_with("std::os::unix")
            || path == "libc"
            || (path.starts_with("libc::") && path != "libc::atexit");
        let windows_only = path.starts_with("std::os::windows") || path.starts_with("windows_sys");
        if is_windows && unix_only {
            found.push(format!("{at}: names `{path}`"));
        }
        if !is_windows && windows_only {
            found.push(format!("{at}: names `{path}`"));
        }
    }
    if is_windows {
        // The methods Unix's std::os::unix::fs::FileExt adds to File.
        for (at, method) in &compiled.methods {
            if ["read_at", "read_exact_at", "write_at", "write_all_at"].contains(&method.as_str()) {
                found.push(format!("{at}: calls `{method}` (Unix's FileExt)"));
            }
        }
    }
    if target.os != "linux" {
        for (at, s) in &compiled.strings {
            let linux_path = ["/proc", "/sys"]
                .iter()
                .any(|root| s.contains(&format!("{root}/")) || s.ends_with(root));
            if linux_path {
                found.push(format!("{at}: reads {s:?}"));
            }
        }
    }
    found
}

fn runtime_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")
}

/// The modules every OS compiles with every feature (those of [`FEATURE_MODULES`] only with
/// theirs).
const EVERYWHERE: &[&str] = &[
    "__private",
    "cache_dir",
    "carbon",
    "carbon::cache",
    "carbon::country",
    "carbon::geolocate",
    "carbon::intensity",
    "carbon::lookup",
    "carbon::service",
    "carbon::table",
    "config",
    "energy",
    "energy::clock",
    "energy::doctor",
    "energy::estimate",
    "energy::nvml",
    "energy::powerlog",
    "energy::sampler",
    "energy::sources",
    "energy::window",
    "exit",
    "features",
    "files",
    "fork",
    "fork::os",
    "log",
    "log::append",
    "log::backlog",
    "log::paths",
    "log::read",
    "log::read::ahead",
    "log::read::col",
    "log::record",
    "log::row_id",
    "metadata",
    "meter",
    "ship",
    "ship::endpoint",
    "ship::metrics",
    "ship::postgres",
    "ship::shipper",
    "user",
];

/// The modules of one OS beyond [`EVERYWHERE`], with the default features.
fn os_modules(target: Target) -> &'static [&'static str] {
    match target.os {
        "linux" => &[
            "energy::estimate::getrusage",
            "energy::msr",
            "energy::msr::amd",
            "energy::msr::intel",
            "energy::powercap",
            "energy::rapl",
            "proc_stat",
            "proc_stat::ticker",
        ],
        "macos" => &["energy::estimate::getrusage", "meter::no_proc_stat"],
        "windows" => &["energy::estimate::get_process_times", "meter::no_proc_stat"],
        other => panic!("no table for {other}"),
    }
}

/// The modules only the optional features bring.
const FEATURE_MODULES: &[(&str, &str)] = &[
    ("geolocation", "carbon::cache"),
    ("geolocation", "carbon::geolocate"),
    ("geolocation", "carbon::service"),
    ("nvml", "energy::nvml"),
    ("postgres", "ship::postgres"),
    ("postgres", "ship::shipper"),
    ("prometheus", "ship::endpoint"),
    ("prometheus", "ship::metrics"),
];

fn expected_modules(target: Target, features: &[&str]) -> Vec<String> {
    let mut modules: Vec<String> = EVERYWHERE
        .iter()
        .chain(os_modules(target))
        .filter(|m| {
            FEATURE_MODULES
                .iter()
                .all(|(feature, module)| module != *m || features.contains(feature))
        })
        .map(|m| m.to_string())
        .collect();
    modules.sort();
    modules
}

const TARGETS: [Target; 3] = [LINUX, MACOS, WINDOWS];
const FEATURE_SETS: [&[&str]; 3] = [DEFAULT_FEATURES, &[], ALL_FEATURES];

#[test]
fn each_os_compiles_the_modules_of_the_table() {
    for target in TARGETS {
        for features in FEATURE_SETS {
            let build = Build {
                target,
                features,
                test: false,
            };
            let mut modules = compile(&runtime_root(), &build).modules;
            modules.sort();
            assert_eq!(
                modules,
                expected_modules(target, features),
                "the modules {} compiles with features {features:?}",
                target.os
            );
        }
    }
}

#[test]
fn no_os_compiles_another_os_calls() {
    for target in TARGETS {
        for features in FEATURE_SETS {
            for test in [false, true] {
                let build = Build {
                    target,
                    features,
                    test,
                };
                let found = violations(target, &compile(&runtime_root(), &build));
                assert!(
                    found.is_empty(),
                    "{} (features {features:?}, cfg(test) {test}) compiles code of another OS:\n{}",
                    target.os,
                    found.join("\n")
                );
            }
        }
    }
}

/// The check itself: a crate with an ungated Unix import and a `/proc` read gated on `unix`
/// only is caught for Windows and macOS, and the gated version of the same code is not.
#[test]
fn the_check_catches_ungated_unix_code() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("lib.rs");
    std::fs::write(
        &root,
        "mod io;\n#[cfg(target_os = \"linux\")]\nmod linux;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("io.rs"),
        "use std::os::unix::fs::FileExt;\n\
         #[cfg(unix)]\n\
         pub fn busy() -> String { std::fs::read_to_string(\"/proc/stat\").unwrap() }\n\
         pub fn first(f: &std::fs::File) { let mut b = [0u8; 1]; f.read_at(&mut b, 0).ok(); }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("linux.rs"), "use libc::sysconf;\n").unwrap();
    let build = |target| Build {
        target,
        features: &[],
        test: false,
    };

    let windows = violations(WINDOWS, &compile(&root, &build(WINDOWS)));
    assert_eq!(
        windows,
        [
            "io.rs:1: names `std::os::unix::fs::FileExt`",
            "io.rs:4: calls `read_at` (Unix's FileExt)"
        ]
    );
    let macos = violations(MACOS, &compile(&root, &build(MACOS)));
    assert_eq!(macos, ["io.rs:3: reads \"/proc/stat\""]);
    assert!(violations(LINUX, &compile(&root, &build(LINUX))).is_empty());
    assert_eq!(compile(&root, &build(LINUX)).modules, ["io", "linux"]);
    assert_eq!(compile(&root, &build(MACOS)).modules, ["io"]);
}
