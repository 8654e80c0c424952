//! The `#[measure_power]` attribute of pgadget. Use it through the `pgadget` crate.

#![deny(missing_docs)]

mod args;
mod expand;
mod item;
mod locate;

use proc_macro::TokenStream;

/// Measures every call of the function it is put on: each call appends one row to the power
/// log (how long it ran, the energy of each domain, the CO2 it stands for).
///
/// ```
/// use pgadget::measure_power;
///
/// #[measure_power(package = "std", algorithm = "powi", data_type = "tabular",
///                 data_shape = values.len(), algorithm_params = format!("n={n}"))]
/// fn power(values: &[f64], n: i32) -> Vec<f64> {
///     values.iter().map(|x| x.powi(n)).collect()
/// }
///
/// # let log = std::env::temp_dir().join(format!("pgadget-doc-{}.csv", std::process::id()));
/// # pgadget::PowerMeter::builder().log_path(&log).get_country(false).build()?.install().ok();
/// assert_eq!(power(&[1.0, 2.0, 3.0], 2), [1.0, 4.0, 9.0]); // appends one row to the log
///
/// let row = &pgadget::get_logged_data(&log)?[0];
/// assert_eq!((row.algorithm.as_str(), row.data_shape.as_str()), ("powi", "3"));
/// assert_eq!(row.algorithm_params, "n=2");
/// assert!(row.function.ends_with("::power"));
/// # std::fs::remove_file(&log)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// | key | value | |
/// |---|---|---|
/// | `package` | string literal | required: the library doing the work |
/// | `algorithm` | string literal | required: what it runs |
/// | `data_type` | `"tabular"` (default), `"image"`, `"text"`, `"time series"` or `"other"` | |
/// | `data_shape`, `algorithm_params`, `comments` | a string literal, or any expression over the function's arguments | an expression is evaluated once per call, before the measurement starts, and written with `Display`, else `Debug` (`x.shape()` gives `[7000, 64]`); one that panics writes no row, and the body does not run |
/// | `project_name` | string literal | wins over the meter's project name |
/// | `crate` | a path | where the `pgadget` crate is, when Cargo.toml renames it (`crate = ::energy`) or another crate re-exports it (default `::pgadget`) |
///
/// It works on free functions, methods (`&self`, `&mut self`, `self`), associated functions,
/// generic functions, `unsafe fn`, `extern "C" fn` and `async fn`, in crates of every edition,
/// and leaves the attributes, visibility and signature as written (only the `mut` of an
/// argument moves into the body). The body runs unchanged: `return`, `?` and panics all end
/// the measurement (a panic is logged with Status `panicked`; a call that returns normally
/// while a panic unwinds, from a `Drop`, is `ok`). The window covers everything the call does,
/// drops included: of the body's locals, of the temporaries of its last expression and of the
/// arguments taken by value, except `self` and the parts of an argument a pattern leaves
/// unbound (`_`), which Rust drops after the body. The Function column is the function's path
/// with the type it belongs to: `app::Model::new`, `<app::Sgd as app::Train>::fit`, and
/// `app::Train::fit` for a trait's default method.
///
/// **Futures.** For an `async fn` the window is the future's run: it opens at the first poll
/// and closes when the future completes; a future dropped before it completes is logged as
/// `cancelled`, one never polled is not logged. A function that returns a future,
/// `impl Future<Output = T>`, `Pin<Box<dyn Future<Output = T> + ..>>` (what `#[async_trait]`
/// makes of an `async fn`) or `BoxFuture<'_, T>`, is measured from the call until the returned
/// future completes (or `cancelled` when it is dropped first). A function that returns a
/// future inside another type (`Result<impl Future<..>, E>`) is refused at compile time, as is
/// a `return` in a function whose future is measured: its window would be the future's
/// creation, not its run. A future returned under a name that does not say so (a type alias
/// other than `BoxFuture`, an associated type) cannot be seen by the attribute, which then
/// measures the call alone. A measured future is `Send` and `Sync` exactly when the
/// unmeasured one is.
///
/// With `PGADGET_DISABLE=1` the function runs as if it were not annotated, and no field
/// expression is evaluated.
///
/// A mistake in the arguments, or the attribute on something other than a non-`const`
/// function with a body, is one compile error pointing at the mistake, with the item left as
/// written. The generated code adds no warning, under clippy's pedantic and nursery groups
/// too.
#[proc_macro_attribute]
pub fn measure_power(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item);
    let checked = item::measured_fn(original.clone()).and_then(|measured| {
        let args = syn::parse::<args::MeasureArgs>(args)?;
        if args.krate.is_none() {
            reachable_as_pgadget()?;
        }
        Ok((args, measured))
    });
    match checked {
        Ok((args, measured)) => expand::expand(&args, measured).into(),
        // The item stays as written, so the one mistake is the only error reported.
        Err(error) => {
            let error = error.to_compile_error();
            if item::is_expression(&original) {
                // On a closure, the output stands where an expression does: one block.
                quote::quote!({ #error #original }).into()
            } else {
                let mut out = error;
                out.extend(original);
                out.into()
            }
        }
    }
}

/// Whether the generated code can call pgadget `::pgadget` (see `locate`).
fn reachable_as_pgadget() -> syn::Result<()> {
    let message = match locate::pgadget_crate() {
        locate::Dependency::AsPgadget => return Ok(()),
        locate::Dependency::Renamed(name) => format!(
            "this crate depends on pgadget under the name `{name}`, so #[measure_power] cannot \
             find it as `::pgadget`: add `crate = ::{name}` to the attribute's arguments"
        ),
        locate::Dependency::Missing => "#[measure_power] cannot find the pgadget crate: it is not \
             a dependency of this crate. If you use the attribute through a crate that \
             re-exports pgadget, say where with `crate = path::to::pgadget` in its arguments; \
             otherwise add pgadget to [dependencies]"
            .to_string(),
    };
    Err(syn::Error::new(proc_macro2::Span::call_site(), message))
}
