// A measured future is `Send` exactly when the unmeasured one is: holding an `Rc` across an
// `.await` makes both not `Send`, and the error points at the `Rc` as it would without the
// attribute.
use pgadget::measure_power;
use std::rc::Rc;

async fn tick() {}

#[measure_power(package = "demo", algorithm = "rc")]
async fn holds_rc() -> usize {
    let shared = Rc::new(3);
    tick().await;
    *shared
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    assert_send(holds_rc());
}
