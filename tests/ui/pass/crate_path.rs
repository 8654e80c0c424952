//! `crate = path` finds pgadget when it is re-exported under another name.
#![deny(warnings)]
mod reexport {
    pub use pgadget as energy;
}

#[path = "../support/log.rs"]
mod log;

#[reexport::energy::measure_power(
    package = "demo",
    algorithm = "renamed",
    data_shape = n,
    crate = crate::reexport::energy
)]
fn renamed(n: usize) -> usize {
    n + 1
}

fn main() {
    let path = log::install("crate_path");
    assert_eq!(renamed(1), 2);
    assert_eq!(log::functions(&path), ["renamed"]);
    assert_eq!(log::rows(&path)[0].data_shape, "1");
}
