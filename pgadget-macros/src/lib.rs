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
/// ```ignore
/// use pgadget::measure_power;
///
/// #[measure_power(package = "linfa", algorithm = "RandomForest", data_type = "tabular",
///                 data_shape = records.shape(), algorithm_params = "trees=100")]
/// fn train(records: &ndarray::Array2<f64>) -> Model { /* ... */ }
/// ```
///
/// | key | value | |
/// |---|---|---|
/// | `package` | string literal | required: the library doing the work |
/// | `algorithm` | string literal | required: what it runs |
/// | `data_type` | `"tabular"` (default), `"image"`, `"text"`, `"time series"` or `"other"` | |
/// | `data_shape`, `algorithm_params`, `comments` | a string literal, or any expression over the function's arguments | an expression is evaluated once per call, before the measurement starts, and written with `Display`, else `Debug` (`x.shape()` gives `[7000, 64]`) |
/// | `project_name` | string literal | wins over the meter's project name |
/// | `crate` | a path | where the `pgadget` crate is, when it is re-exported (default `::pgadget`) |
///
/// It works on free functions, methods (`&self`, `&mut self`, `self`), associated functions,
/// generic functions, `unsafe fn` and `async fn`, and leaves the signature, attributes and
/// visibility as written. The body runs unchanged: `return`, `?` and panics all end the
/// measurement (a panic is logged with Status `panicked`). For an `async fn` the measurement
/// covers the future's run; a future dropped before it finishes is logged as `cancelled`.
/// With `PGADGET_DISABLE=1` the function runs as if it were not annotated.
///
/// A mistake in the arguments, or the attribute on something other than a non-`const`
/// function with a body, is a compile error pointing at the mistake.
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
        locate::Pgadget::AsPgadget => return Ok(()),
        locate::Pgadget::Renamed(name) => format!(
            "this crate depends on pgadget under the name `{name}`, so #[measure_power] cannot \
             find it as `::pgadget`: add `crate = ::{name}` to the attribute's arguments"
        ),
        locate::Pgadget::Missing => "#[measure_power] cannot find the pgadget crate: it is not \
             a dependency of this crate. If you use the attribute through a crate that \
             re-exports pgadget, say where with `crate = path::to::pgadget` in its arguments; \
             otherwise add pgadget to [dependencies]"
            .to_string(),
    };
    Err(syn::Error::new(proc_macro2::Span::call_site(), message))
}
