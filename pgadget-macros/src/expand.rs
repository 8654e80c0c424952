//! Code generation: the measured function, with a drop guard in front of its body.
//!
//! A plain function becomes
//!
//! ```text
//! fn name(a: A, mut b: B) -> R {
//!     let (guard, a, mut b) = {
//!         let a = a;                          // the arguments bound by value, moved in
//!         let b = b;
//!         (if enabled() { enter({ fn __pgadget_fn() ..; static SITE = ..; &SITE }, fields) }
//!          else { disabled() }, a, b)
//!     };
//!     original statements
//! }
//! ```
//!
//! The body runs as written, so `return`, `?`, `self`, generics and panics need no special
//! case: however it ends, dropping the guard writes the row. The guard is the first local, so
//! it is dropped last: after the body's locals and the arguments bound after it. The braces of
//! the function body are the macro's, and the macro crate is edition 2024, so the temporaries
//! of the body's last expression are dropped before the locals (the guard among them) in a
//! crate of any edition. No statement follows the user's, so a body that never returns
//! (`loop {}`, `todo!()`) leaves no unreachable code behind.
//!
//! An `async fn` keeps the guard inside its future and runs the statements as an inner
//! `async move` block it awaits, so that a `return` in the body still reaches the `complete()`
//! that tells a finished call from a future dropped half-way. Two never-taken `return`s give
//! that block the function's declared output type before its body is checked, without writing
//! the type (it may hold `impl Trait` or be `!`):
//!
//! ```text
//! async fn name(args) -> R {
//!     let (mut guard, args..) = /* the same, with enter_async */;
//!     let ty = PhantomData;                               // PhantomData<fn() -> ?>
//!     if false { return output(ty); }                     // ? = R
//!     let out = async move { if false { return output(ty); } original statements }.await;
//!     guard.complete();
//!     out
//! }
//! ```
//!
//! An `async fn` that returns `!` never completes, so it is a plain function's shape: its window
//! ends with a panic or with the future dropped (`cancelled`).
//!
//! A function returning a future hands the guard to that future, which closes the window when
//! it completes: `Measured::new(guard, { statements })` for `impl Future`, and
//! `Box::pin(Measured::new(guard, inner))` after `let inner: R = { statements };` for
//! `Pin<Box<dyn Future>>` and `BoxFuture`.
//!
//! Every name the expansion introduces has mixed-site hygiene (the body cannot see or shadow
//! it), or lives in a block the user's code is not in. Every path is absolute (`::core`, or
//! `<crate>::__private`, the only part of pgadget the expansion names); paths are resolved with
//! the macro's edition, so they mean the same in a 2015 crate.

use crate::args::{FieldValue, MeasureArgs};
use crate::item::{MeasuredFn, Shape};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{AttrStyle, FnArg, ItemFn, Pat, ReturnType, Signature, Type};

/// The function `measured` with every call measured as `args` describe.
pub fn expand(args: &MeasureArgs, measured: MeasuredFn) -> TokenStream {
    let MeasuredFn { function, shape } = measured;
    let ItemFn {
        attrs,
        vis,
        mut sig,
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
    let private = quote!(#krate::__private);
    let guard = Ident::new("__pgadget_guard", Span::mixed_site());
    let open = window(args, &private, shape != Shape::Plain);
    let arguments = by_value_arguments(&mut sig);
    let opening = open_and_move_in(&guard, &open, &arguments, false);
    let opening_mut = open_and_move_in(&guard, &open, &arguments, true);
    let statements = &block.stmts;
    let body = match shape {
        Shape::Plain => quote! {
            #opening
            #(#statements)*
        },
        // It never completes: its window ends with a panic or with the future dropped
        // (`cancelled`), and there is nothing to run after the body.
        Shape::Async if matches!(&sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_))) =>
        {
            quote! {
                #opening
                #(#statements)*
            }
        }
        Shape::Async => {
            let ty = Ident::new("__pgadget_ty", Span::mixed_site());
            let output = Ident::new("__pgadget_output", Span::mixed_site());
            // Spanned on the declared type: "return type inferred to be `R` here" points at it.
            let at = output_span(&sig.output);
            let fake = Ident::new("__pgadget_fake_return", at);
            let fix_output = quote_spanned! {at=>
                if false {
                    let #fake = #private::output(#ty);
                    return #fake;
                }
            };
            quote! {
                #opening_mut
                let #ty = ::core::marker::PhantomData;
                #fix_output
                let #output = async move {
                    #fix_output
                    #(#statements)*
                }
                .await;
                #private::Measurement::complete(&mut #guard);
                #output
            }
        }
        Shape::ImplFuture => quote! {
            #opening
            #private::Measured::new(#guard, { #(#statements)* })
        },
        Shape::BoxedFuture => {
            let ty = match &sig.output {
                ReturnType::Type(_, ty) => ty.to_token_stream(),
                ReturnType::Default => unreachable!("a boxed future is a declared return type"),
            };
            let inner_future = Ident::new("__pgadget_future", Span::mixed_site());
            quote! {
                #opening
                let #inner_future: #ty = { #(#statements)* };
                ::std::boxed::Box::pin(#private::Measured::new(#guard, #inner_future))
            }
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

/// Where a note about the function's output type should point.
fn output_span(output: &ReturnType) -> Span {
    let at = match output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => Span::call_site(),
    };
    Span::mixed_site().located_at(at)
}

/// An argument bound by value: `mut name`.
struct Binding {
    mutability: Option<syn::token::Mut>,
    name: Ident,
}

/// Every argument bound by value, with its `mut` moved out of the signature (into the
/// `let` that binds it again, where a needless one is still reported on the user's token).
/// `self` cannot be bound again; an argument with a `#[cfg]` is left where it is.
fn by_value_arguments(sig: &mut Signature) -> Vec<Binding> {
    let mut bindings = Vec::new();
    for input in &mut sig.inputs {
        let FnArg::Typed(arg) = input else {
            continue;
        };
        if arg.attrs.iter().any(|a| a.path().is_ident("cfg")) {
            continue;
        }
        by_value_bindings(&mut arg.pat, &mut bindings);
    }
    bindings
}

/// The statement that opens the window and moves the arguments into it:
///
/// ```text
/// let (guard, mut a, b) = { let a = a; let b = b; (open, a, b) };
/// ```
///
/// Locals declared after the guard are dropped before it, so the arguments' drops are inside
/// the window (an argument is otherwise dropped after every local). The field expressions
/// borrow the block's own locals, whose storage ends with the block: in an `async fn` a local
/// that was ever borrowed is kept in the future's state until its storage ends, and borrowing
/// the arguments themselves would store them twice.
fn open_and_move_in(
    guard: &Ident,
    open: &TokenStream,
    arguments: &[Binding],
    mutable: bool,
) -> TokenStream {
    let guard_mut = mutable.then(|| quote!(mut));
    if arguments.is_empty() {
        return quote! { let #guard_mut #guard = #open; };
    }
    let names: Vec<&Ident> = arguments.iter().map(|b| &b.name).collect();
    let mutabilities = arguments.iter().map(|b| &b.mutability);
    quote! {
        let (#guard_mut #guard, #(#mutabilities #names),*) = {
            #(let #names = #names;)*
            (#open, #(#names),*)
        };
    }
}

/// The by-value bindings of `pat`, with their `mut` taken out of the pattern.
fn by_value_bindings(pat: &mut Pat, out: &mut Vec<Binding>) {
    match pat {
        Pat::Ident(binding) => {
            if binding.by_ref.is_none() {
                out.push(Binding {
                    mutability: binding.mutability.take(),
                    name: binding.ident.clone(),
                });
            }
            if let Some((_, sub)) = &mut binding.subpat {
                by_value_bindings(sub, out);
            }
        }
        Pat::Tuple(tuple) => {
            for p in &mut tuple.elems {
                by_value_bindings(p, out);
            }
        }
        Pat::TupleStruct(tuple) => {
            for p in &mut tuple.elems {
                by_value_bindings(p, out);
            }
        }
        Pat::Struct(s) => {
            for field in &mut s.fields {
                by_value_bindings(&mut field.pat, out);
            }
        }
        Pat::Slice(slice) => {
            for p in &mut slice.elems {
                by_value_bindings(p, out);
            }
        }
        Pat::Reference(r) => by_value_bindings(&mut r.pat, out),
        Pat::Paren(p) => by_value_bindings(&mut p.pat, out),
        // Wildcards, literals, paths, ranges, rest and macros bind nothing here.
        _ => {}
    }
}

/// The expression that opens the window when measuring is enabled: a `Measurement`.
fn window(args: &MeasureArgs, private: &TokenStream, expects_completion: bool) -> TokenStream {
    let site = Ident::new("__PGADGET_SITE", Span::mixed_site());
    // The runtime strips this name from the locator's type name (`__private::LOCATOR`).
    let locator = Ident::new("__pgadget_fn", Span::mixed_site());
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
            // Located on the user's expression, so a value that is neither Display nor Debug
            // is reported there; resolved as the macro's, so paths mean the same in every
            // edition and no lint takes the generated call for the user's.
            let at = Span::mixed_site().located_at(expr.span());
            let format = quote_spanned! {at=>
                (&#private::Fmt(&(#expr))).pgadget_format()
            };
            quote! {
                ::core::option::Option::Some({
                    // Only one of the two formats any given type.
                    #[allow(unused_imports)]
                    use #private::{ViaDebug as _, ViaDisplay as _};
                    #format
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
    let enter = if expects_completion {
        quote!(enter_async)
    } else {
        quote!(enter)
    };
    // The site's items sit in a block of their own, apart from the field expressions, so no
    // user name can meet them.
    quote! {
        if #private::enabled() {
            #private::#enter(
                {
                    fn #locator() -> &'static str {
                        ::core::any::type_name_of_val(&#locator)
                    }
                    static #site: #private::CallSite = #private::CallSite {
                        package: #package,
                        algorithm: #algorithm,
                        data_type: #private::DataType::#data_type,
                        locator: #locator,
                        crate_name: match ::core::option_env!("CARGO_PKG_NAME") {
                            ::core::option::Option::Some(name) => name,
                            ::core::option::Option::None => "",
                        },
                        project_name: #project_name,
                        data_shape: #data_shape,
                        algorithm_params: #algorithm_params,
                        comments: #comments,
                    };
                    &#site
                },
                #dyn_shape,
                #dyn_params,
                #dyn_comments,
            )
        } else {
            #private::disabled()
        }
    }
}
