//! One row of the log.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// The header of the log, in order. The first 20 columns are PyPowerGadget's, with its header
/// text exactly; pgadget's own columns follow.
pub const HEADER: [&str; 28] = [
    "Datetime",
    "User ID",
    "ISO",
    "Country",
    "Platform",
    "Project name",
    "Total Elapsed CPU Time (sec)",
    "Total Elapsed GPU Time (sec)",
    "Cumulative Package Energy (mWh)",
    "Cumulative IA Energy (mWh)",
    "Cumulative GPU Energy (mWh)",
    "Cumulative DRAM Energy (mWh)",
    "PUE",
    "CO2 emitted (gCO2e)",
    "Package",
    "Algorithm",
    "Algorithm's parameters",
    "Data type",
    "Data shape",
    "Comment",
    "Function",
    "Energy Source",
    "Process CPU Time (sec)",
    "Status",
    "Process CPU Share",
    "Energy Note",
    "Row ID",
    "Host",
];

/// One measured call: who ran what, where, how long, and what it used.
///
/// Energies are in mWh, as in the seed. A domain that was not measured is `None` (an empty
/// cell), never a made-up 0.
///
/// Rows come from the log ([`crate::get_logged_data`]) or from a measurement
/// ([`crate::Measurement::finish`]); new columns may be added, so a `Record` is not built field
/// by field outside pgadget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Record {
    /// When the window opened, with its UTC offset.
    #[serde(rename = "Datetime")]
    pub datetime: DateTime<FixedOffset>,
    /// The user: `PGADGET_USER`, the builder's `user_name`, else the OS account ("User ID").
    #[serde(rename = "User ID")]
    pub user: String,
    /// ISO 3166 alpha-2 code of the country whose grid intensity was used, `WORLD` for the
    /// world average, empty when carbon was not computed.
    #[serde(rename = "ISO")]
    pub iso: String,
    /// The English name of that country, `World average`, or empty ("Country").
    #[serde(rename = "Country")]
    pub country: String,
    /// `linux`, `macos` or `windows`.
    #[serde(rename = "Platform")]
    pub platform: String,
    /// The attribute's `project_name`, else the meter's, else the crate's name ("Project name").
    #[serde(rename = "Project name")]
    pub project: String,
    /// The window's wall-clock length in seconds (the seed's name for it).
    #[serde(rename = "Total Elapsed CPU Time (sec)")]
    pub elapsed_secs: f64,
    /// The window's length when a GPU was measured, else 0.
    #[serde(rename = "Total Elapsed GPU Time (sec)")]
    pub gpu_elapsed_secs: f64,
    /// Energy of the CPU package(s), summed over sockets ("Cumulative Package Energy").
    #[serde(rename = "Cumulative Package Energy (mWh)")]
    pub package_mwh: Option<f64>,
    /// Energy of the cores ("Cumulative IA Energy").
    #[serde(rename = "Cumulative IA Energy (mWh)")]
    pub cores_mwh: Option<f64>,
    /// Energy of all NVIDIA GPUs ("Cumulative GPU Energy").
    #[serde(rename = "Cumulative GPU Energy (mWh)")]
    pub gpu_mwh: Option<f64>,
    /// Energy of the memory ("Cumulative DRAM Energy").
    #[serde(rename = "Cumulative DRAM Energy (mWh)")]
    pub dram_mwh: Option<f64>,
    /// The power usage effectiveness applied to the CO2.
    #[serde(rename = "PUE")]
    pub pue: f64,
    /// CO2 emitted, gCO2e: PUE × (package + DRAM + GPU energy) × the grid's intensity; `None`
    /// when no energy was measured.
    #[serde(rename = "CO2 emitted (gCO2e)")]
    pub co2_g: Option<f64>,
    /// The library doing the work (the attribute's `package`).
    #[serde(rename = "Package")]
    pub package: String,
    /// What it runs (the attribute's `algorithm`).
    #[serde(rename = "Algorithm")]
    pub algorithm: String,
    /// The attribute's `algorithm_params`.
    #[serde(rename = "Algorithm's parameters")]
    pub algorithm_params: String,
    /// `tabular`, `image`, `text`, `time series` or `other` ("Data type").
    #[serde(rename = "Data type")]
    pub data_type: String,
    /// The attribute's `data_shape`.
    #[serde(rename = "Data shape")]
    pub data_shape: String,
    /// The attribute's `comments` ("Comment").
    #[serde(rename = "Comment")]
    pub comments: String,
    /// Module path and name of the measured function.
    #[serde(rename = "Function")]
    pub function: String,
    /// What measured the row: `powercap`, `msr`, `powerlog`, `estimate`, with `+nvml` for GPUs.
    #[serde(rename = "Energy Source")]
    pub energy_source: String,
    /// CPU time (user + system) the whole process used during the window; `None` in rows of
    /// logs written before pgadget had this column (PyPowerGadget's).
    #[serde(rename = "Process CPU Time (sec)")]
    pub process_cpu_secs: Option<f64>,
    /// `ok`, `panicked`, `cancelled`, or `exit N` for `pgadget run`.
    #[serde(rename = "Status")]
    pub status: String,
    /// The process's share (0..=1) of all CPU time used on the machine during the window;
    /// empty where the machine's total cannot be read, and for a window shorter than one
    /// clock tick (10 ms), which that total cannot resolve.
    #[serde(rename = "Process CPU Share")]
    pub cpu_share: Option<f64>,
    /// Why an energy cell of this row is empty although its source measures that domain (a
    /// sampling gap, a counter or GPU that could not be read, a PowerLog that failed), and
    /// why CO2 is empty when a term of it is: one sentence per reason, joined by `"; "`.
    /// Empty when every measured domain has its value.
    #[serde(rename = "Energy Note")]
    pub energy_note: String,
    /// An id unique across machines and processes (a UUID), shared with the database copy
    /// of the row.
    #[serde(rename = "Row ID")]
    pub row_id: String,
    /// The name of the machine that measured the row.
    #[serde(rename = "Host")]
    pub host: String,
}

/// Package (or, without one, cores) + DRAM + GPU, in mWh: what CO2 is computed from.
fn energy_sum(
    package: Option<f64>,
    cores: Option<f64>,
    dram: Option<f64>,
    gpu: Option<f64>,
) -> f64 {
    package.or(cores).unwrap_or(0.0) + dram.unwrap_or(0.0) + gpu.unwrap_or(0.0)
}

impl Record {
    /// The energy CO2 is computed from, in mWh: package (or, without one, cores) + DRAM + GPU.
    pub fn carbon_energy_mwh(&self) -> f64 {
        energy_sum(
            self.package_mwh,
            self.cores_mwh,
            self.dram_mwh,
            self.gpu_mwh,
        )
    }

    /// All measured energy of the row in mWh (the same sum CO2 is computed from).
    pub fn total_mwh(&self) -> f64 {
        self.carbon_energy_mwh()
    }

    /// Serialises the row as one CSV line, newline included. For pgadget's own benchmarks; not
    /// part of the API.
    #[doc(hidden)]
    pub fn to_csv_line(&self) -> Result<Vec<u8>, csv::Error> {
        RecordRef::from(self).to_csv_line()
    }
}

/// One row of the log borrowed from where it was read (see [`crate::log::LogReader`]): the
/// same columns as [`Record`], without allocating a `String` per cell. It serialises exactly as
/// a [`Record`] with the same values does. Each field is the [`Record`] field of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RecordRef<'a> {
    /// [`Record::datetime`].
    #[serde(rename = "Datetime")]
    pub datetime: DateTime<FixedOffset>,
    /// [`Record::user`].
    #[serde(rename = "User ID")]
    pub user: &'a str,
    /// [`Record::iso`].
    #[serde(rename = "ISO")]
    pub iso: &'a str,
    /// [`Record::country`].
    #[serde(rename = "Country")]
    pub country: &'a str,
    /// [`Record::platform`].
    #[serde(rename = "Platform")]
    pub platform: &'a str,
    /// [`Record::project`].
    #[serde(rename = "Project name")]
    pub project: &'a str,
    /// [`Record::elapsed_secs`].
    #[serde(rename = "Total Elapsed CPU Time (sec)")]
    pub elapsed_secs: f64,
    /// [`Record::gpu_elapsed_secs`].
    #[serde(rename = "Total Elapsed GPU Time (sec)")]
    pub gpu_elapsed_secs: f64,
    /// [`Record::package_mwh`].
    #[serde(rename = "Cumulative Package Energy (mWh)")]
    pub package_mwh: Option<f64>,
    /// [`Record::cores_mwh`].
    #[serde(rename = "Cumulative IA Energy (mWh)")]
    pub cores_mwh: Option<f64>,
    /// [`Record::gpu_mwh`].
    #[serde(rename = "Cumulative GPU Energy (mWh)")]
    pub gpu_mwh: Option<f64>,
    /// [`Record::dram_mwh`].
    #[serde(rename = "Cumulative DRAM Energy (mWh)")]
    pub dram_mwh: Option<f64>,
    /// [`Record::pue`].
    #[serde(rename = "PUE")]
    pub pue: f64,
    /// [`Record::co2_g`].
    #[serde(rename = "CO2 emitted (gCO2e)")]
    pub co2_g: Option<f64>,
    /// [`Record::package`].
    #[serde(rename = "Package")]
    pub package: &'a str,
    /// [`Record::algorithm`].
    #[serde(rename = "Algorithm")]
    pub algorithm: &'a str,
    /// [`Record::algorithm_params`].
    #[serde(rename = "Algorithm's parameters")]
    pub algorithm_params: &'a str,
    /// [`Record::data_type`].
    #[serde(rename = "Data type")]
    pub data_type: &'a str,
    /// [`Record::data_shape`].
    #[serde(rename = "Data shape")]
    pub data_shape: &'a str,
    /// [`Record::comments`].
    #[serde(rename = "Comment")]
    pub comments: &'a str,
    /// [`Record::function`].
    #[serde(rename = "Function")]
    pub function: &'a str,
    /// [`Record::energy_source`].
    #[serde(rename = "Energy Source")]
    pub energy_source: &'a str,
    /// [`Record::process_cpu_secs`].
    #[serde(rename = "Process CPU Time (sec)")]
    pub process_cpu_secs: Option<f64>,
    /// [`Record::status`].
    #[serde(rename = "Status")]
    pub status: &'a str,
    /// [`Record::cpu_share`].
    #[serde(rename = "Process CPU Share")]
    pub cpu_share: Option<f64>,
    /// [`Record::energy_note`].
    #[serde(rename = "Energy Note")]
    pub energy_note: &'a str,
    /// [`Record::row_id`].
    #[serde(rename = "Row ID")]
    pub row_id: &'a str,
    /// [`Record::host`].
    #[serde(rename = "Host")]
    pub host: &'a str,
}

impl RecordRef<'_> {
    /// Serialises the row as one CSV line, newline included, exactly as [`Record::to_csv_line`]
    /// does for the same values.
    pub fn to_csv_line(&self) -> Result<Vec<u8>, csv::Error> {
        // The writer's own buffer (8 KiB by default, zeroed for every row) would only be
        // copied into the Vec: a small one flushes straight into it.
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .buffer_capacity(64)
            .from_writer(Vec::with_capacity(512));
        w.serialize(self)?;
        w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
    }

    /// All measured energy of the row in mWh, as [`Record::total_mwh`].
    pub fn total_mwh(&self) -> f64 {
        energy_sum(
            self.package_mwh,
            self.cores_mwh,
            self.dram_mwh,
            self.gpu_mwh,
        )
    }

    /// Copies this row into `record`, reusing its strings' memory: keeping the last N rows
    /// of a log then allocates nothing per row.
    pub fn copy_into(&self, record: &mut Record) {
        let text = |to: &mut String, from: &str| {
            to.clear();
            to.push_str(from);
        };
        record.datetime = self.datetime;
        text(&mut record.user, self.user);
        text(&mut record.iso, self.iso);
        text(&mut record.country, self.country);
        text(&mut record.platform, self.platform);
        text(&mut record.project, self.project);
        record.elapsed_secs = self.elapsed_secs;
        record.gpu_elapsed_secs = self.gpu_elapsed_secs;
        record.package_mwh = self.package_mwh;
        record.cores_mwh = self.cores_mwh;
        record.gpu_mwh = self.gpu_mwh;
        record.dram_mwh = self.dram_mwh;
        record.pue = self.pue;
        record.co2_g = self.co2_g;
        text(&mut record.package, self.package);
        text(&mut record.algorithm, self.algorithm);
        text(&mut record.algorithm_params, self.algorithm_params);
        text(&mut record.data_type, self.data_type);
        text(&mut record.data_shape, self.data_shape);
        text(&mut record.comments, self.comments);
        text(&mut record.function, self.function);
        text(&mut record.energy_source, self.energy_source);
        record.process_cpu_secs = self.process_cpu_secs;
        text(&mut record.status, self.status);
        record.cpu_share = self.cpu_share;
        text(&mut record.energy_note, self.energy_note);
        text(&mut record.row_id, self.row_id);
        text(&mut record.host, self.host);
    }

    /// An owned copy.
    pub fn to_record(&self) -> Record {
        Record {
            datetime: self.datetime,
            user: self.user.into(),
            iso: self.iso.into(),
            country: self.country.into(),
            platform: self.platform.into(),
            project: self.project.into(),
            elapsed_secs: self.elapsed_secs,
            gpu_elapsed_secs: self.gpu_elapsed_secs,
            package_mwh: self.package_mwh,
            cores_mwh: self.cores_mwh,
            gpu_mwh: self.gpu_mwh,
            dram_mwh: self.dram_mwh,
            pue: self.pue,
            co2_g: self.co2_g,
            package: self.package.into(),
            algorithm: self.algorithm.into(),
            algorithm_params: self.algorithm_params.into(),
            data_type: self.data_type.into(),
            data_shape: self.data_shape.into(),
            comments: self.comments.into(),
            function: self.function.into(),
            energy_source: self.energy_source.into(),
            process_cpu_secs: self.process_cpu_secs,
            status: self.status.into(),
            cpu_share: self.cpu_share,
            energy_note: self.energy_note.into(),
            row_id: self.row_id.into(),
            host: self.host.into(),
        }
    }
}

impl<'a> From<&'a Record> for RecordRef<'a> {
    fn from(r: &'a Record) -> Self {
        RecordRef {
            datetime: r.datetime,
            user: &r.user,
            iso: &r.iso,
            country: &r.country,
            platform: &r.platform,
            project: &r.project,
            elapsed_secs: r.elapsed_secs,
            gpu_elapsed_secs: r.gpu_elapsed_secs,
            package_mwh: r.package_mwh,
            cores_mwh: r.cores_mwh,
            gpu_mwh: r.gpu_mwh,
            dram_mwh: r.dram_mwh,
            pue: r.pue,
            co2_g: r.co2_g,
            package: &r.package,
            algorithm: &r.algorithm,
            algorithm_params: &r.algorithm_params,
            data_type: &r.data_type,
            data_shape: &r.data_shape,
            comments: &r.comments,
            function: &r.function,
            energy_source: &r.energy_source,
            process_cpu_secs: r.process_cpu_secs,
            status: &r.status,
            cpu_share: r.cpu_share,
            energy_note: &r.energy_note,
            row_id: &r.row_id,
            host: &r.host,
        }
    }
}

/// The header as one CSV line, newline included.
pub fn header_line() -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::with_capacity(512));
    // Writing strings into a Vec cannot fail.
    let _ = w.write_record(HEADER);
    w.into_inner().unwrap_or_default()
}

#[cfg(test)]
pub(crate) fn sample() -> Record {
    Record {
        datetime: DateTime::parse_from_rfc3339("2026-11-25T09:30:00.123456+01:00").unwrap(),
        user: "ada".into(),
        iso: "FR".into(),
        country: "France".into(),
        platform: "linux".into(),
        project: "iris, \"v2\"".into(),
        elapsed_secs: 1.5,
        gpu_elapsed_secs: 0.0,
        package_mwh: Some(2.5),
        cores_mwh: Some(1.25),
        gpu_mwh: None,
        dram_mwh: Some(0.5),
        pue: 1.58,
        co2_g: Some(0.1),
        package: "linfa".into(),
        algorithm: "RandomForest".into(),
        algorithm_params: "trees=100, depth=3".into(),
        data_type: "tabular".into(),
        data_shape: "[150, 4]".into(),
        comments: "line one\nline two".into(),
        function: "demo::train".into(),
        energy_source: "powercap".into(),
        process_cpu_secs: Some(1.4),
        status: "ok".into(),
        cpu_share: Some(0.9),
        energy_note: String::new(),
        row_id: "5b1f0c2e-93aa-8d41-8000-000000000007".into(),
        host: "lab-7".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_starts_with_the_seed_columns_in_order() {
        let line = String::from_utf8(header_line()).unwrap();
        assert!(line.starts_with(
            "Datetime,User ID,ISO,Country,Platform,Project name,Total Elapsed CPU Time (sec),\
             Total Elapsed GPU Time (sec),Cumulative Package Energy (mWh),Cumulative IA Energy (mWh),\
             Cumulative GPU Energy (mWh),Cumulative DRAM Energy (mWh),PUE,CO2 emitted (gCO2e),Package,\
             Algorithm,Algorithm's parameters,Data type,Data shape,Comment,"
        ));
        assert!(line.ends_with("Status,Process CPU Share,Energy Note,Row ID,Host\n"));
    }

    #[test]
    fn a_row_quotes_what_needs_it_and_leaves_unmeasured_cells_empty() {
        let line = String::from_utf8(sample().to_csv_line().unwrap()).unwrap();
        assert!(line.starts_with(
            "2026-11-25T09:30:00.123456+01:00,ada,FR,France,linux,\"iris, \"\"v2\"\"\","
        ));
        assert!(line.contains(",2.5,1.25,,0.5,1.58,"), "{line}");
        assert!(line.contains("\"line one\nline two\""));
        assert!(line.ends_with(",ok,0.9,,5b1f0c2e-93aa-8d41-8000-000000000007,lab-7\n"));
    }

    #[test]
    fn a_borrowed_row_serialises_as_the_record_and_converts_back() {
        let record = sample();
        let borrowed = RecordRef::from(&record);
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        w.serialize(borrowed).unwrap();
        assert_eq!(w.into_inner().unwrap(), record.to_csv_line().unwrap());
        assert_eq!(
            serde_json::to_value(borrowed).unwrap(),
            serde_json::to_value(&record).unwrap()
        );
        assert_eq!(borrowed.to_record(), record);
        let mut other = Record {
            project: "a much longer project name than iris".into(),
            gpu_mwh: Some(1.0),
            ..record.clone()
        };
        borrowed.copy_into(&mut other);
        assert_eq!(other, record);
        assert_eq!(borrowed.total_mwh(), record.total_mwh());
    }

    #[test]
    fn carbon_energy_uses_cores_only_without_package() {
        let mut r = sample();
        assert_eq!(r.carbon_energy_mwh(), 3.0);
        r.package_mwh = None;
        assert_eq!(r.carbon_energy_mwh(), 1.75);
    }
}
