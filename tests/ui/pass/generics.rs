//! Generic functions with lifetimes, `where` clauses, const generics and `impl Trait`.
#![deny(warnings)]
use pgadget::measure_power;
use std::fmt::Debug;

#[path = "../support/log.rs"]
mod log;

#[measure_power(package = "demo", algorithm = "longest", data_shape = items.len())]
fn longest<'a, T>(items: &'a [T], key: impl Fn(&T) -> usize) -> Option<&'a T>
where
    T: Debug + 'a,
{
    items.iter().max_by_key(|item| key(item))
}

#[measure_power(package = "demo", algorithm = "evens", data_type = "other")]
fn evens<I>(input: I) -> impl Iterator<Item = u32>
where
    I: IntoIterator<Item = u32>,
    I::IntoIter: 'static,
{
    input.into_iter().filter(|n| n % 2 == 0)
}

#[measure_power(package = "demo", algorithm = "boxed")]
fn boxed<'a>(text: &'a str) -> Box<dyn Fn() -> &'a str + 'a> {
    Box::new(move || text)
}

#[measure_power(package = "demo", algorithm = "sum_array", data_shape = N)]
fn sum_array<const N: usize>(values: [u64; N]) -> u64 {
    values.iter().sum()
}

fn main() {
    let path = log::install("generics");
    let words = ["a", "abc", "ab"];
    assert_eq!(longest(&words, |w| w.len()), Some(&"abc"));
    assert_eq!(evens(vec![1, 2, 3, 4]).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(boxed("kept")(), "kept");
    assert_eq!(sum_array([1, 2, 3]), 6);

    assert_eq!(
        log::functions(&path),
        ["longest", "evens", "boxed", "sum_array"]
    );
    let rows = log::rows(&path);
    assert_eq!(rows[0].data_shape, "3");
    assert_eq!(rows[1].data_type, "other");
    assert_eq!(rows[3].data_shape, "3");
}
