// On a closure or a `let`, the compiler refuses the attribute (it is unstable there); the
// attribute adds what to do instead.
use pgadget::measure_power;

fn main() {
    let add = #[measure_power(package = "demo", algorithm = "closure")] |x: u32| x + 1;
    #[measure_power(package = "demo", algorithm = "let")]
    let double = |x: u32| x * 2;
    assert_eq!(add(double(1)), 3);
}
