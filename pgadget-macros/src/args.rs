//! The arguments of `#[measure_power(...)]`: parsing and validation.
//!
//! Every mistake becomes one `syn::Error` spanned on the token that caused it, saying what is
//! accepted instead. Parsing stops at the first mistake, so a typo in one key does not also
//! report that key as missing.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(package);
    syn::custom_keyword!(algorithm);
    syn::custom_keyword!(data_type);
    syn::custom_keyword!(data_shape);
    syn::custom_keyword!(algorithm_params);
    syn::custom_keyword!(comments);
    syn::custom_keyword!(project_name);
}

/// Every key the attribute accepts, in the order the documentation lists them.
pub const KEYS: [&str; 8] = [
    "package",
    "algorithm",
    "data_type",
    "data_shape",
    "algorithm_params",
    "comments",
    "project_name",
    "crate",
];

/// The five data types, as written in the log (the same text as `pgadget::DataType::as_str`).
pub const DATA_TYPES: [&str; 5] = ["tabular", "image", "text", "time series", "other"];

/// A data type the attribute accepts: its log text and the `DataType` variant it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataTypeArg {
    Tabular,
    Image,
    Text,
    TimeSeries,
    Other,
}

impl DataTypeArg {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "tabular" => DataTypeArg::Tabular,
            "image" => DataTypeArg::Image,
            "text" => DataTypeArg::Text,
            "time series" => DataTypeArg::TimeSeries,
            "other" => DataTypeArg::Other,
            _ => return None,
        })
    }

    /// The name of the `pgadget::DataType` variant.
    pub fn variant(self) -> &'static str {
        match self {
            DataTypeArg::Tabular => "Tabular",
            DataTypeArg::Image => "Image",
            DataTypeArg::Text => "Text",
            DataTypeArg::TimeSeries => "TimeSeries",
            DataTypeArg::Other => "Other",
        }
    }
}

/// The value of `data_shape`, `algorithm_params` or `comments`.
#[derive(Clone, Debug)]
pub enum FieldValue {
    /// A string literal, written as is (kept in the function's `static`).
    Literal(LitStr),
    /// Any other expression, evaluated once per call and formatted with `Display`, else `Debug`.
    Expr(Box<Expr>),
}

/// The parsed and validated arguments of one `#[measure_power(...)]`.
#[derive(Clone, Debug)]
pub struct MeasureArgs {
    pub package: LitStr,
    pub algorithm: LitStr,
    pub data_type: DataTypeArg,
    pub data_shape: Option<FieldValue>,
    pub algorithm_params: Option<FieldValue>,
    pub comments: Option<FieldValue>,
    pub project_name: Option<LitStr>,
    /// The path of the `pgadget` crate (`crate = path`); `None` means `::pgadget`.
    pub krate: Option<Path>,
}

/// The arguments as written, before the required ones are checked.
#[derive(Default)]
struct Given {
    package: Option<LitStr>,
    algorithm: Option<LitStr>,
    data_type: Option<DataTypeArg>,
    data_shape: Option<FieldValue>,
    algorithm_params: Option<FieldValue>,
    comments: Option<FieldValue>,
    project_name: Option<LitStr>,
    krate: Option<Path>,
}

const EXAMPLE: &str = "#[measure_power(package = \"linfa\", algorithm = \"RandomForest\")]";

impl Parse for MeasureArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut given = Given::default();
        while !input.is_empty() {
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::package) {
                let key = input.parse::<kw::package>()?;
                let value = required_text(input, "package", "\"linfa\"")?;
                set(&mut given.package, value, key.span, "package")?;
            } else if lookahead.peek(kw::algorithm) {
                let key = input.parse::<kw::algorithm>()?;
                let value = required_text(input, "algorithm", "\"RandomForest\"")?;
                set(&mut given.algorithm, value, key.span, "algorithm")?;
            } else if lookahead.peek(kw::data_type) {
                let key = input.parse::<kw::data_type>()?;
                let value = data_type(input)?;
                set(&mut given.data_type, value, key.span, "data_type")?;
            } else if lookahead.peek(kw::data_shape) {
                let key = input.parse::<kw::data_shape>()?;
                let value = field(input, "data_shape")?;
                set(&mut given.data_shape, value, key.span, "data_shape")?;
            } else if lookahead.peek(kw::algorithm_params) {
                let key = input.parse::<kw::algorithm_params>()?;
                let value = field(input, "algorithm_params")?;
                set(
                    &mut given.algorithm_params,
                    value,
                    key.span,
                    "algorithm_params",
                )?;
            } else if lookahead.peek(kw::comments) {
                let key = input.parse::<kw::comments>()?;
                let value = field(input, "comments")?;
                set(&mut given.comments, value, key.span, "comments")?;
            } else if lookahead.peek(kw::project_name) {
                let key = input.parse::<kw::project_name>()?;
                let value = required_text(input, "project_name", "\"iris\"")?;
                set(&mut given.project_name, value, key.span, "project_name")?;
            } else if lookahead.peek(Token![crate]) {
                let key = input.parse::<Token![crate]>()?;
                equals(input, "crate", "::pgadget")?;
                let value = input.call(Path::parse_mod_style).map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "`crate` takes the path of the pgadget crate, as in `crate = ::pgadget`",
                    )
                })?;
                refuse_standard_library(&value)?;
                set(&mut given.krate, value, key.span, "crate")?;
            } else if input.peek(Ident::peek_any) {
                let unknown = input.call(Ident::parse_any)?;
                return Err(unknown_key(&unknown));
            } else {
                let keys = list(&KEYS.map(|k| format!("`{k}`")));
                let found = lookahead.error();
                return Err(syn::Error::new(
                    found.span(),
                    format!("expected `key = value`, with one of the keys {keys}"),
                ));
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `,` between the keys of #[measure_power]",
                )
            })?;
        }
        given.finish()
    }
}

impl Given {
    fn finish(self) -> syn::Result<MeasureArgs> {
        let missing: Vec<&str> = [
            ("package", self.package.is_none()),
            ("algorithm", self.algorithm.is_none()),
        ]
        .into_iter()
        .filter(|(_, missing)| *missing)
        .map(|(key, _)| key)
        .collect();
        let (Some(package), Some(algorithm)) = (self.package, self.algorithm) else {
            let what = match missing.as_slice() {
                [one] => format!("`{one}` is missing"),
                _ => "`package` and `algorithm` are missing".to_string(),
            };
            return Err(syn::Error::new(
                Span::call_site(),
                format!(
                    "{what}: #[measure_power] needs the package and the algorithm being \
                     measured, as in {EXAMPLE}"
                ),
            ));
        };
        Ok(MeasureArgs {
            package,
            algorithm,
            data_type: self.data_type.unwrap_or(DataTypeArg::Tabular),
            data_shape: self.data_shape,
            algorithm_params: self.algorithm_params,
            comments: self.comments,
            project_name: self.project_name,
            krate: self.krate,
        })
    }
}

/// Stores `value`, or reports the key as given twice (spanned on this, the second, key).
fn set<T>(slot: &mut Option<T>, value: T, key: Span, name: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key,
            format!("duplicate key `{name}`: each key of #[measure_power] may be given once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// `crate = std` (or `core`, `alloc`): a path that surely does not lead to pgadget, and would
/// otherwise give one "cannot find `__private`" error per use.
fn refuse_standard_library(path: &Path) -> syn::Result<()> {
    let [only] = path.segments.iter().collect::<Vec<_>>()[..] else {
        return Ok(());
    };
    let name = only.ident.to_string();
    if !matches!(name.as_str(), "std" | "core" | "alloc") {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        path,
        format!(
            "`crate = {name}` names the standard library; `crate` takes the path of the pgadget \
             crate: leave it out when the dependency is called `pgadget`, write \
             `crate = ::energy` when Cargo.toml renames it to `energy`, or the path of a \
             re-export (`crate = my_lib::pgadget`)"
        ),
    ))
}

fn equals(input: ParseStream<'_>, key: &str, example: &str) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        return Ok(());
    }
    Err(syn::Error::new(
        input.span(),
        format!("expected `=` after `{key}`, as in `{key} = {example}`"),
    ))
}

/// A non-empty string literal (`package`, `algorithm`, `project_name`).
fn required_text(input: ParseStream<'_>, key: &str, example: &str) -> syn::Result<LitStr> {
    let value = string_literal(input, key, example)?;
    if value.value().trim().is_empty() {
        return Err(syn::Error::new(
            value.span(),
            format!("`{key}` must not be empty, as in `{key} = {example}`"),
        ));
    }
    Ok(value)
}

fn string_literal(input: ParseStream<'_>, key: &str, example: &str) -> syn::Result<LitStr> {
    equals(input, key, example)?;
    if input.peek(LitStr) {
        return input.parse();
    }
    // Consume what was written so that the error covers all of it.
    let span = match input.parse::<Expr>() {
        Ok(expr) => syn::spanned::Spanned::span(&expr),
        Err(_) => input.span(),
    };
    Err(syn::Error::new(
        span,
        format!("`{key}` takes a string literal, as in `{key} = {example}`"),
    ))
}

fn data_type(input: ParseStream<'_>) -> syn::Result<DataTypeArg> {
    let value = string_literal(input, "data_type", "\"tabular\"")?;
    let name = value.value();
    DataTypeArg::from_name(&name).ok_or_else(|| {
        let choices = list(&DATA_TYPES.map(|d| format!("\"{d}\"")));
        let message = match suggest_data_type(&name) {
            Some(s) => format!(
                "unknown data_type \"{name}\"; did you mean \"{s}\"? The data types are {choices}"
            ),
            None => format!("unknown data_type \"{name}\"; the data types are {choices}"),
        };
        syn::Error::new(value.span(), message)
    })
}

/// `data_shape`, `algorithm_params`, `comments`: a string literal or any expression.
fn field(input: ParseStream<'_>, key: &str) -> syn::Result<FieldValue> {
    equals(input, key, "\"...\" or an expression such as `x.shape()`")?;
    let expr: Expr = input.parse()?;
    Ok(match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s),
            attrs,
        }) if attrs.is_empty() => FieldValue::Literal(s),
        other => FieldValue::Expr(Box::new(other)),
    })
}

fn unknown_key(unknown: &Ident) -> syn::Error {
    let name = unknown.to_string();
    let keys = list(&KEYS.map(|k| format!("`{k}`")));
    let suggestions: Vec<String> = suggest_keys(&name)
        .into_iter()
        .map(|k| format!("`{k}`"))
        .collect();
    let message = if suggestions.is_empty() {
        format!("unknown key `{name}` in #[measure_power]; the keys are {keys}")
    } else {
        format!(
            "unknown key `{name}` in #[measure_power]; did you mean {}? The keys are {keys}",
            suggestions.join(" or ")
        )
    };
    syn::Error::new(unknown.span(), message)
}

/// `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The keys `name` was probably meant to be: a near miss in spelling, the same letters in
/// another case or without `_`, or one part of a key (`shape` for `data_shape`).
pub fn suggest_keys(name: &str) -> Vec<&'static str> {
    let squashed = squash(name);
    let exact: Vec<&str> = KEYS.into_iter().filter(|k| squash(k) == squashed).collect();
    if !exact.is_empty() {
        return exact;
    }
    let close: Vec<&str> = KEYS
        .into_iter()
        .filter(|k| is_near_miss(&squashed, &squash(k)))
        .collect();
    if !close.is_empty() {
        return close;
    }
    let lower = name.to_lowercase();
    let lower = lower.trim_matches('_');
    if lower.len() < 4 && lower != "type" {
        return Vec::new();
    }
    KEYS.into_iter()
        .filter(|k| {
            k.split('_')
                .any(|part| part == lower || part == lower.trim_end_matches('s'))
        })
        .collect()
}

/// The data type `name` was probably meant to be (`images`, `Time-Series`, `tabluar`).
pub fn suggest_data_type(name: &str) -> Option<&'static str> {
    let squashed = squash(name);
    let singular = squashed.strip_suffix('s').unwrap_or(&squashed);
    DATA_TYPES
        .into_iter()
        .find(|d| {
            let d = squash(d);
            d == squashed || d == singular
        })
        .or_else(|| {
            DATA_TYPES
                .into_iter()
                .find(|d| is_near_miss(&squashed, &squash(d)))
        })
}

/// Lower case, without the separators people write differently (`_`, `-`, ` `).
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `a` is a typo of `b`: a few edits apart, relative to the word's length.
fn is_near_miss(a: &str, b: &str) -> bool {
    let allowed = match b.chars().count() {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    };
    edit_distance(a, b) <= allowed
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each count as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: the distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> syn::Result<MeasureArgs> {
        syn::parse_str::<MeasureArgs>(s)
    }

    fn error(s: &str) -> String {
        match parse(s) {
            Ok(args) => panic!("`{s}` was accepted: {args:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_two_required_keys_are_enough_and_data_type_defaults_to_tabular() {
        let args = parse(r#"package = "linfa", algorithm = "RandomForest""#).unwrap();
        assert_eq!(args.package.value(), "linfa");
        assert_eq!(args.algorithm.value(), "RandomForest");
        assert_eq!(args.data_type, DataTypeArg::Tabular);
        assert!(args.data_shape.is_none() && args.comments.is_none());
        assert!(args.krate.is_none() && args.project_name.is_none());
    }

    #[test]
    fn every_key_parses_in_any_order_with_a_trailing_comma() {
        let args = parse(
            r#"crate = my::reexport, comments = "first run", data_type = "time series",
               algorithm_params = format!("trees={}", n), data_shape = x.shape(),
               project_name = "iris", algorithm = "a", package = "p","#,
        )
        .unwrap();
        assert_eq!(args.data_type, DataTypeArg::TimeSeries);
        assert!(
            matches!(args.comments, Some(FieldValue::Literal(ref s)) if s.value() == "first run")
        );
        assert!(matches!(args.data_shape, Some(FieldValue::Expr(_))));
        assert!(matches!(args.algorithm_params, Some(FieldValue::Expr(_))));
        assert_eq!(args.project_name.unwrap().value(), "iris");
        let krate = args.krate.unwrap();
        assert_eq!(quote::quote!(#krate).to_string(), "my :: reexport");
    }

    #[test]
    fn crate_accepts_absolute_and_crate_relative_paths() {
        for path in ["::pgadget", "crate::pg", "self::pg", "super::pg"] {
            let args = parse(&format!(
                r#"package = "p", algorithm = "a", crate = {path}"#
            ));
            assert!(args.is_ok(), "{path}: {:?}", args.err());
        }
    }

    #[test]
    fn crate_refuses_the_standard_library() {
        for path in ["std", "::core", "alloc"] {
            let e = error(&format!(
                r#"package = "p", algorithm = "a", crate = {path}"#
            ));
            assert!(e.contains("names the standard library"), "{path}: {e}");
        }
        assert!(parse(r#"package = "p", algorithm = "a", crate = std_reexport"#).is_ok());
    }

    #[test]
    fn a_missing_required_key_is_named() {
        assert!(error(r#"package = "p""#).starts_with("`algorithm` is missing"));
        assert!(error(r#"algorithm = "a""#).starts_with("`package` is missing"));
        assert!(error("").starts_with("`package` and `algorithm` are missing"));
    }

    #[test]
    fn a_duplicate_key_is_refused() {
        let e = error(r#"package = "p", algorithm = "a", package = "q""#);
        assert!(e.starts_with("duplicate key `package`"), "{e}");
    }

    #[test]
    fn text_keys_want_a_non_empty_string_literal() {
        let e = error(r#"package = 3, algorithm = "a""#);
        assert!(e.contains("`package` takes a string literal"), "{e}");
        let e = error(r#"package = "p", algorithm = name"#);
        assert!(e.contains("`algorithm` takes a string literal"), "{e}");
        let e = error(r#"package = " ", algorithm = "a""#);
        assert!(e.contains("`package` must not be empty"), "{e}");
        let e = error(r#"package "p", algorithm = "a""#);
        assert!(e.contains("expected `=` after `package`"), "{e}");
    }

    #[test]
    fn unknown_keys_get_a_suggestion_and_the_list() {
        let e = error(r#"package = "p", algoritm = "a""#);
        assert!(e.contains("unknown key `algoritm`"), "{e}");
        assert!(e.contains("did you mean `algorithm`?"), "{e}");
        assert!(e.contains("`project_name` and `crate`"), "{e}");
        let e = error(r#"package = "p", speed = "a""#);
        assert!(!e.contains("did you mean"), "{e}");
        let e = error(r#""p", "a""#);
        assert!(
            e.starts_with("expected `key = value`, with one of the keys `package`"),
            "{e}"
        );
    }

    #[test]
    fn key_suggestions() {
        assert_eq!(suggest_keys("algoritm"), ["algorithm"]);
        assert_eq!(suggest_keys("pakage"), ["package"]);
        assert_eq!(suggest_keys("dataType"), ["data_type"]);
        assert_eq!(suggest_keys("comment"), ["comments"]);
        assert_eq!(suggest_keys("create"), ["crate"]);
        assert_eq!(suggest_keys("shape"), ["data_shape"]);
        assert_eq!(suggest_keys("params"), ["algorithm_params"]);
        assert_eq!(suggest_keys("type"), ["data_type"]);
        assert_eq!(suggest_keys("data"), ["data_type", "data_shape"]);
        assert!(suggest_keys("speed").is_empty());
        assert!(suggest_keys("id").is_empty());
    }

    #[test]
    fn data_type_is_one_of_five() {
        for (name, want) in [
            ("tabular", DataTypeArg::Tabular),
            ("image", DataTypeArg::Image),
            ("text", DataTypeArg::Text),
            ("time series", DataTypeArg::TimeSeries),
            ("other", DataTypeArg::Other),
        ] {
            let args = parse(&format!(
                r#"package = "p", algorithm = "a", data_type = "{name}""#
            ));
            assert_eq!(args.unwrap().data_type, want);
        }
        let e = error(r#"package = "p", algorithm = "a", data_type = "images""#);
        assert!(e.contains(r#"did you mean "image"?"#), "{e}");
        assert!(
            e.contains(r#""tabular", "image", "text", "time series" and "other""#),
            "{e}"
        );
        let e = error(r#"package = "p", algorithm = "a", data_type = tabular"#);
        assert!(e.contains("`data_type` takes a string literal"), "{e}");
    }

    #[test]
    fn data_type_suggestions() {
        assert_eq!(suggest_data_type("images"), Some("image"));
        assert_eq!(suggest_data_type("timeseries"), Some("time series"));
        assert_eq!(suggest_data_type("Time_Series"), Some("time series"));
        assert_eq!(suggest_data_type("tabluar"), Some("tabular"));
        assert_eq!(suggest_data_type("Texts"), Some("text"));
        assert_eq!(suggest_data_type("audio"), None);
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("algorithm", "algorithm"), 0);
        assert_eq!(edit_distance("algroithm", "algorithm"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
