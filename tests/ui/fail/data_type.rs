use pgadget::measure_power;

#[measure_power(package = "burn", algorithm = "cnn", data_type = "images")]
fn plural() {}

#[measure_power(package = "augurs", algorithm = "ets", data_type = "timeseries")]
fn squashed() {}

#[measure_power(package = "whisper", algorithm = "asr", data_type = "audio")]
fn unknown() {}

fn main() {
    plural();
    squashed();
    unknown();
}
