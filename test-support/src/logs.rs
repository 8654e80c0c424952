//! Logs for the tests of the reader and the command line: logs pgadget did not write
//! (PyPowerGadget's, an earlier pgadget's), and rows written cell by cell, valid or not.

use pgadget_runtime::log::{Record, RecordRef, HEADER};
use std::path::{Path, PathBuf};

/// How many columns PyPowerGadget's log has: the first 20 of pgadget's.
pub const SEED_COLUMNS: usize = 20;

/// A log as PyPowerGadget wrote it: its 20 columns, a Datetime in local time without an offset,
/// Platform `darwin`, a Python tuple as the data shape. The rows are the two of its README.
pub const PYPOWERGADGET_LOG: &str = "\
Datetime,User ID,ISO,Country,Platform,Project name,Total Elapsed CPU Time (sec),\
Total Elapsed GPU Time (sec),Cumulative Package Energy (mWh),Cumulative IA Energy (mWh),\
Cumulative GPU Energy (mWh),Cumulative DRAM Energy (mWh),PUE,CO2 emitted (gCO2e),Package,\
Algorithm,Algorithm's parameters,Data type,Data shape,Comment
2020-03-04 17:53:36.289029,martinchauvin,FR,France,darwin,green_ai,10.087129,0,23.081851,\
10.375519,0,2.296532,1.3,0.0013,Sklearn,MLPClassifier,hidden_layers=(200;),tabular,\
\"(7000, 64)\",Toy training on the MNIST dataset
2020-03-04 17:54:29.610171,martinchauvin,FR,France,darwin,green_ai,10.09472,0,27.315876,\
13.769294,0,2.562374,1.3,0.001679385,Pytorch,ResNet121,\" layers=(Conv(3x3), BatchNorm,...)\",\
images,\"(7000, 64)\",3rd training
";

/// A row as the library writes it, every cell filled, with the given cells (by column name)
/// replaced by raw text, which may be anything (an invalid date, `inf`, an escape sequence).
/// Without changes: a valid row, measured 2026-11-25 at 09:30 +01:00, 2.5 mWh package,
/// 0.5 mWh DRAM. The line ends with a newline.
pub fn row(changes: &[(&str, &str)]) -> String {
    row_in(&HEADER, changes)
}

/// [`row`] with only the columns of `header` (a prefix of pgadget's), for older logs.
pub fn row_in(header: &[&str], changes: &[(&str, &str)]) -> String {
    let template = template();
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.serialize(&template).expect("serialise a record");
    let text = w.into_inner().expect("an in-memory writer");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&text[..]);
    let cells = reader
        .records()
        .next()
        .expect("one row")
        .expect("a valid row");
    let mut cells: Vec<String> = cells.iter().map(str::to_string).collect();
    for (name, value) in changes {
        let at = HEADER
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        cells[at] = value.to_string();
    }
    cells.truncate(header.len());
    line(&cells)
}

/// `cells` as one CSV line, quoted where needed, newline included.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(cells.iter().map(|c| c.as_ref()))
        .expect("write a record");
    String::from_utf8(w.into_inner().expect("an in-memory writer")).expect("UTF-8 cells")
}

/// The header of pgadget's current log, newline included.
pub fn header() -> String {
    line(&HEADER)
}

/// The header of a log written before the Energy Note, Row ID and Host columns existed: 25
/// columns, ending with `Process CPU Share`.
pub fn earlier_header() -> String {
    line(&HEADER[..25])
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the test log");
    path
}

fn template() -> Record {
    // A `Record` is built from the log or a measurement; a borrowed row, field by field.
    RecordRef {
        datetime: chrono::DateTime::parse_from_rfc3339("2026-11-25T09:30:00.123456+01:00")
            .expect("a valid date"),
        user: "ada",
        iso: "FR",
        country: "France",
        platform: "linux",
        project: "iris",
        elapsed_secs: 1.5,
        gpu_elapsed_secs: 0.0,
        package_mwh: Some(2.5),
        cores_mwh: Some(1.25),
        gpu_mwh: None,
        dram_mwh: Some(0.5),
        pue: 1.58,
        co2_g: Some(0.1),
        package: "linfa",
        algorithm: "RandomForest",
        algorithm_params: "trees=100",
        data_type: "tabular",
        data_shape: "[150, 4]",
        comments: "",
        function: "demo::train",
        energy_source: "powercap",
        process_cpu_secs: Some(1.4),
        status: "ok",
        cpu_share: Some(0.9),
        energy_note: "",
        row_id: "5b1f0c2e-93aa-8d41-8000-000000000007",
        host: "lab-7",
    }
    .to_record()
}
