//! Code generation: the measured function, with a drop guard in front of its body.
//!
//! A plain function becomes
//!
//! ```text
//! fn name(args) -> R {
//!     let __pgadget_guard = { static SITE = ..; if enabled() { Some(enter(&SITE, ..)) } else { None } };
//!     { original body }
//! }
//! ```
//!
//! so `return`, `?`, `self`, generics and panics need no special case: however the body ends,
//! dropping the guard writes the row. An `async fn` keeps the guard inside its future and runs
//! the body as an inner `async move` block it awaits, so that a `return` in the body still
//! reaches the `complete()` that tells a finished call from a future dropped half-way:
//!
//! ```text
//! async fn name(args) -> R {
//!     let mut __pgadget_guard = { /* the same, with enter_async */ };
//!     let __pgadget_output = async move {
//!         if false { let __pgadget_fake_return: R = loop {}; return __pgadget_fake_return; }
//!         { original body }
//!     }.await;
//!     if let Some(m) = Option::as_mut(&mut __pgadget_guard) { m.complete(); }
//!     __pgadget_output
//! }
//! ```

use crate::args::{FieldValue, MeasureArgs};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{AttrStyle, ItemFn, ReturnType, Type};

/// The function `function` with every call measured as `args` describe.
pub fn expand(args: &MeasureArgs, function: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    // syn keeps a body's inner attributes (`#![allow(..)]`) with the outer ones; each goes
    // back where it was written.
    let (outer, inner): (Vec<_>, Vec<_>) = attrs
        .into_iter()
        .partition(|a| matches!(a.style, AttrStyle::Outer));
    let krate = match &args.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::pgadget),
    };
    // Mixed-site hygiene: the body cannot see (or shadow) these names.
    let guard = Ident::new("__pgadget_guard", Span::mixed_site());
    let is_async = sig.asyncness.is_some();
    let open = open_window(args, &krate, &sig.ident.unraw().to_string(), is_async);
    let body = if is_async {
        let output = Ident::new("__pgadget_output", Span::mixed_site());
        let measurement = Ident::new("__pgadget_measurement", Span::mixed_site());
        let fix_output = fix_output_type(&sig.output);
        quote! {
            let mut #guard = #open;
            let #output = async move {
                #fix_output
                #block
            }
            .await;
            if let ::core::option::Option::Some(#measurement) =
                ::core::option::Option::as_mut(&mut #guard)
            {
                #measurement.complete();
            }
            #output
        }
    } else {
        quote! {
            let #guard = #open;
            #block
        }
    };
    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #body
        }
    }
}

/// The expression that opens the window when measuring is enabled: an `Option<Measurement>`.
fn open_window(args: &MeasureArgs, krate: &TokenStream, name: &str, is_async: bool) -> TokenStream {
    let private = quote!(#krate::__private);
    let site = Ident::new("__PGADGET_SITE", Span::mixed_site());
    let package = &args.package;
    let algorithm = &args.algorithm;
    let data_type = Ident::new(args.data_type.variant(), Span::call_site());
    let project_name = match &args.project_name {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let fixed = |field: &Option<FieldValue>| match field {
        Some(FieldValue::Literal(text)) => text.to_token_stream(),
        _ => quote!(""),
    };
    let (data_shape, algorithm_params, comments) = (
        fixed(&args.data_shape),
        fixed(&args.algorithm_params),
        fixed(&args.comments),
    );
    let dynamic = |field: &Option<FieldValue>| match field {
        Some(FieldValue::Expr(expr)) => {
            // Spanned on the user's expression, so a value that is neither Display nor Debug
            // is reported there.
            quote_spanned! {expr.span()=>
                ::core::option::Option::Some({
                    // Only one of the two formats any given type.
                    #[allow(unused_imports)]
                    use #private::{ViaDebug as _, ViaDisplay as _};
                    (&#private::Fmt(&(#expr))).pgadget_format()
                })
            }
        }
        _ => quote!(::core::option::Option::None),
    };
    let (dyn_shape, dyn_params, dyn_comments) = (
        dynamic(&args.data_shape),
        dynamic(&args.algorithm_params),
        dynamic(&args.comments),
    );
    let enter = if is_async {
        quote!(enter_async)
    } else {
        quote!(enter)
    };
    quote! {
        {
            static #site: #private::CallSite = #private::CallSite {
                package: #package,
                algorithm: #algorithm,
                data_type: #krate::DataType::#data_type,
                function: ::core::concat!(::core::module_path!(), "::", #name),
                crate_name: match ::core::option_env!("CARGO_PKG_NAME") {
                    ::core::option::Option::Some(name) => name,
                    ::core::option::Option::None => "",
                },
                project_name: #project_name,
                data_shape: #data_shape,
                algorithm_params: #algorithm_params,
                comments: #comments,
            };
            if #private::enabled() {
                ::core::option::Option::Some(
                    #private::#enter(&#site, #dyn_shape, #dyn_params, #dyn_comments)
                )
            } else {
                ::core::option::Option::None
            }
        }
    }
}

/// A never-taken `return` of the function's type, at the top of the inner `async` block.
///
/// The block's output type is inferred from its first `return`, so with this one the body is
/// checked against the declared type as the `async fn` itself would be: `?` converts errors to
/// it, and a mistake in the body is reported in the body rather than on the attribute. A type
/// containing `impl Trait` cannot be written on a `let`; such a body goes without.
fn fix_output_type(output: &ReturnType) -> TokenStream {
    let (ty, span) = match output {
        ReturnType::Type(_, ty) if mentions_impl_trait(ty) => return TokenStream::new(),
        ReturnType::Type(_, ty) => (ty.to_token_stream(), ty.span()),
        ReturnType::Default => (quote!(()), Span::call_site()),
    };
    // Spanned on the declared type: "return type inferred to be `R` here" then points at it.
    let fake = Ident::new("__pgadget_fake_return", Span::mixed_site().located_at(span));
    quote_spanned! {span=>
        #[allow(
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::needless_return
        )]
        if false {
            let #fake: #ty = loop {};
            return #fake;
        }
    }
}

/// Whether `ty` contains `impl Trait`, which a `let` annotation cannot name.
fn mentions_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}
