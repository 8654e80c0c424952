//! What `#[measure_power]` may be put on: a function with a body that runs at run time, and
//! the shape of its measurement window.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{
    GenericArgument, Item, ItemFn, PathArguments, ReturnType, TraitItemFn, Type, TypeParamBound,
};

/// A function the attribute can measure, and how.
pub struct MeasuredFn {
    pub function: ItemFn,
    pub shape: Shape,
}

/// Where a call's window ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// When the function returns or unwinds.
    Plain,
    /// An `async fn`: when its future completes, panics or is dropped.
    Async,
    /// A function returning `impl Future<..>`: the window opens at the call and ends when the
    /// returned future completes, panics or is dropped.
    ImplFuture,
    /// The same for `Pin<Box<dyn Future<..>>>` (the `async_trait` shape) and `BoxFuture`.
    BoxedFuture,
}

/// The function the attribute is put on, or an error spanned on what makes it unfit.
pub fn measured_fn(item: TokenStream) -> syn::Result<MeasuredFn> {
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
    let shape = if function.sig.asyncness.is_some() {
        Shape::Async
    } else {
        match &function.sig.output {
            ReturnType::Default => Shape::Plain,
            ReturnType::Type(_, ty) => future_shape(ty)?,
        }
    };
    if matches!(shape, Shape::ImplFuture | Shape::BoxedFuture) {
        refuse_early_return(&function)?;
    }
    Ok(MeasuredFn { function, shape })
}

/// The names under which a returned type says it is a future.
const FUTURE_NAMES: [&str; 4] = ["Future", "IntoFuture", "BoxFuture", "LocalBoxFuture"];

/// How a function returning `ty` is measured, or why it cannot be: a future the attribute
/// cannot wrap would otherwise be measured while it is built (a microsecond) rather than while
/// it runs, without a word.
fn future_shape(ty: &Type) -> syn::Result<Shape> {
    if is_impl_future(ty) {
        return Ok(Shape::ImplFuture);
    }
    if is_boxed_future(ty) {
        return Ok(Shape::BoxedFuture);
    }
    let Some(name) = mentioned_future(ty) else {
        return Ok(Shape::Plain);
    };
    Err(syn::Error::new(
        ty.span(),
        format!(
            "#[measure_power] cannot measure this function: it returns a future (`{name}`) \
             inside another type, and measuring the call would time the future's creation, \
             not its run. Put the attribute on an `async fn`, or on a function returning the \
             future itself (`impl Future<Output = T>`, `Pin<Box<dyn Future<Output = T>>>` or \
             `BoxFuture<'_, T>`)"
        ),
    ))
}

/// `impl Future<Output = T> (+ Send + 'a ...)`.
fn is_impl_future(ty: &Type) -> bool {
    let Type::ImplTrait(bounds) = ty else {
        return false;
    };
    bounds.bounds.iter().any(|bound| match bound {
        TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == "Future"),
        _ => false,
    })
}

/// `Pin<Box<dyn Future<..> + ..>>`, `BoxFuture<..>` or `LocalBoxFuture<..>`, by any path.
fn is_boxed_future(ty: &Type) -> bool {
    let Some(last) = last_segment(ty) else {
        return false;
    };
    if last.ident == "BoxFuture" || last.ident == "LocalBoxFuture" {
        return true;
    }
    if last.ident != "Pin" {
        return false;
    }
    let Some(boxed) = only_type_argument(&last.arguments) else {
        return false;
    };
    let Some(box_segment) = last_segment(boxed).filter(|s| s.ident == "Box") else {
        return false;
    };
    let Some(Type::TraitObject(object)) = only_type_argument(&box_segment.arguments) else {
        return false;
    };
    object.bounds.iter().any(|bound| match bound {
        TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == "Future"),
        _ => false,
    })
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Paren(p) => last_segment(&p.elem),
        Type::Group(g) => last_segment(&g.elem),
        _ => None,
    }
}

fn only_type_argument(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

/// The first of [`FUTURE_NAMES`] that `ty` names anywhere.
fn mentioned_future(ty: &Type) -> Option<String> {
    struct Finder(Option<String>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            if self.0.is_none() && FUTURE_NAMES.iter().any(|n| segment.ident == n) {
                self.0 = Some(segment.ident.to_string());
            }
            syn::visit::visit_path_segment(self, segment);
        }
    }
    let mut finder = Finder(None);
    finder.visit_type(ty);
    finder.0
}

/// A `return` in a function whose returned future is measured would hand back a future the
/// expansion never wraps; it is refused where it is written.
fn refuse_early_return(function: &ItemFn) -> syn::Result<()> {
    struct Finder(Option<proc_macro2::Span>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_return(&mut self, ret: &'ast syn::ExprReturn) {
            self.0.get_or_insert(ret.return_token.span);
        }
        // A `return` in these leaves them, not the function.
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast Item) {}
    }
    let mut finder = Finder(None);
    finder.visit_block(&function.block);
    match finder.0 {
        None => Ok(()),
        Some(span) => Err(syn::Error::new(
            span,
            format!(
                "#[measure_power] measures the future `{}` returns, from the call until the \
                 future completes, by wrapping the function's last expression; this `return` \
                 would hand back a future it never sees. Make the last expression the only \
                 way out (an `if`/`match` that yields the future)",
                function.sig.ident
            ),
        )),
    }
}

fn explain_non_function(item: TokenStream, parse_error: syn::Error) -> syn::Error {
    const WANTED: &str = "#[measure_power] measures functions: put it on a `fn` with a body \
                          (a free function, a method or an associated function)";
    if let Ok(declaration) = syn::parse2::<TraitItemFn>(item.clone()) {
        // A trait method without a default body, or a function in an `extern` block (the
        // tokens alone cannot tell them apart): there is nothing to run here.
        let sig = &declaration.sig;
        return syn::Error::new_spanned(
            quote::quote!(#sig),
            format!(
                "#[measure_power] needs a function body to measure, and `{}` has none. For a \
                 trait's method, put the attribute on the method in each `impl`; for a \
                 function of an `extern` block, on the Rust function that calls it",
                sig.ident
            ),
        );
    }
    let Ok(item) = syn::parse2::<Item>(item.clone()) else {
        return explain_non_item(item).unwrap_or(parse_error);
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
    let hint = match item {
        Item::Impl(_) | Item::Trait(_) => "; put it on the functions inside instead",
        Item::ForeignMod(_) => {
            "; the functions it declares run code that is not compiled here: measure the Rust \
             function that calls them"
        }
        _ => "",
    };
    syn::Error::new_spanned(head, format!("{WANTED}, not on {kind}{hint}"))
}

/// Whether `tokens` are an expression rather than an item or a statement (the attribute on a
/// closure).
pub fn is_expression(tokens: &TokenStream) -> bool {
    syn::parse2::<Item>(tokens.clone()).is_err() && syn::parse2::<syn::Expr>(tokens.clone()).is_ok()
}

/// The attribute on a closure or a `let` (which the compiler also refuses, without saying what
/// to do instead), or `None` for tokens that are not Rust at all, which the compiler reports
/// better than we could.
fn explain_non_item(tokens: TokenStream) -> Option<syn::Error> {
    const INSTEAD: &str = "measure a closure or a stretch of code with \
                           `PowerMeter::measure_power(metadata, || ..)` or `PowerMeter::start`, \
                           or move the code into a function and put the attribute there";
    let statement = match syn::parse2::<syn::Expr>(tokens.clone()) {
        Ok(expr) => syn::Stmt::Expr(expr, None),
        Err(_) => syn::parse2::<syn::Stmt>(tokens).ok()?,
    };
    let (what, head) = match statement {
        syn::Stmt::Local(local) => ("a `let` statement", local.let_token.to_token_stream()),
        syn::Stmt::Expr(syn::Expr::Closure(c), _) => {
            let (open, inputs, close) = (&c.or1_token, &c.inputs, &c.or2_token);
            ("a closure", quote::quote!(#open #inputs #close))
        }
        syn::Stmt::Expr(expr, _) => ("an expression", expr.to_token_stream()),
        _ => return None,
    };
    Some(syn::Error::new_spanned(
        head,
        format!("#[measure_power] cannot be put on {what}: {INSTEAD}"),
    ))
}

fn quote_pair(a: &impl ToTokens, b: &impl ToTokens) -> TokenStream {
    quote::quote!(#a #b)
}
