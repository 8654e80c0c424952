//! The `#[measure_power]` attribute of pgadget. Use it through the `pgadget` crate.

use proc_macro::TokenStream;

/// Measures every call of the function it is put on (placeholder until the macro lands).
#[proc_macro_attribute]
pub fn measure_power(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
