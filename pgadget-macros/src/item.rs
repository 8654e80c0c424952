//! What `#[measure_power]` may be put on: a function with a body that runs at run time.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Item, ItemFn, TraitItemFn};

/// The function the attribute is put on, or an error spanned on what makes it unfit.
pub fn measured_fn(item: TokenStream) -> syn::Result<ItemFn> {
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(not_a_fn) => return Err(explain_non_function(item, not_a_fn)),
    };
    if let Some(constness) = &function.sig.constness {
        return Err(syn::Error::new(
            constness.span,
            "#[measure_power] cannot measure a `const fn`: it may run at compile time, where \
             there is no energy to measure. Remove `const`, or measure the run-time function \
             that calls it",
        ));
    }
    Ok(function)
}

fn explain_non_function(item: TokenStream, parse_error: syn::Error) -> syn::Error {
    const WANTED: &str = "#[measure_power] measures functions: put it on a `fn` with a body \
                          (a free function, a method or an associated function)";
    if let Ok(declaration) = syn::parse2::<TraitItemFn>(item.clone()) {
        // A trait method without a default body: there is nothing to run here.
        let sig = &declaration.sig;
        return syn::Error::new_spanned(
            quote::quote!(#sig),
            format!(
                "#[measure_power] needs a function body to measure, and `{}` has none; put the \
                 attribute on the function in each `impl` instead",
                sig.ident
            ),
        );
    }
    let Ok(item) = syn::parse2::<Item>(item) else {
        // Not valid Rust at all: the compiler reports that better than we could.
        return parse_error;
    };
    let (kind, head) = match &item {
        Item::Const(i) => ("a constant", quote_pair(&i.const_token, &i.ident)),
        Item::Enum(i) => ("an enum", quote_pair(&i.enum_token, &i.ident)),
        Item::ExternCrate(i) => ("an `extern crate`", quote_pair(&i.extern_token, &i.ident)),
        Item::ForeignMod(i) => ("an `extern` block", i.abi.to_token_stream()),
        Item::Impl(i) => ("an `impl` block", quote_pair(&i.impl_token, &i.self_ty)),
        Item::Macro(i) => ("a macro", i.mac.path.to_token_stream()),
        Item::Mod(i) => ("a module", quote_pair(&i.mod_token, &i.ident)),
        Item::Static(i) => ("a static", quote_pair(&i.static_token, &i.ident)),
        Item::Struct(i) => ("a struct", quote_pair(&i.struct_token, &i.ident)),
        Item::Trait(i) => ("a trait", quote_pair(&i.trait_token, &i.ident)),
        Item::TraitAlias(i) => ("a trait alias", quote_pair(&i.trait_token, &i.ident)),
        Item::Type(i) => ("a type alias", quote_pair(&i.type_token, &i.ident)),
        Item::Union(i) => ("a union", quote_pair(&i.union_token, &i.ident)),
        Item::Use(i) => ("a `use`", i.use_token.to_token_stream()),
        other => ("this item", other.to_token_stream()),
    };
    let hint = if matches!(item, Item::Impl(_) | Item::Trait(_)) {
        "; put it on the functions inside instead"
    } else {
        ""
    };
    syn::Error::new_spanned(head, format!("{WANTED}, not on {kind}{hint}"))
}

fn quote_pair(a: &impl ToTokens, b: &impl ToTokens) -> TokenStream {
    quote::quote!(#a #b)
}
