//! The public API as a user meets it: everything through `pgadget::`, errors that work with
//! `?` and `Box<dyn Error>`, and types that can be printed and shared between threads.

use pgadget::{
    ConfigError, ConfigErrorKind, DataType, InstallError, Measurement, Metadata, PowerMeter,
    ReadError, Record, UnknownDataType, FEATURES,
};
use std::error::Error;

/// What `?` into `Box<dyn Error + Send + Sync>` needs.
fn is_error<E: Error + Send + Sync + 'static>() {}
fn is_shared<T: Send + Sync>() {}

#[test]
fn every_error_type_is_a_std_error_usable_with_question_mark() {
    is_error::<ConfigError>();
    is_error::<InstallError>();
    is_error::<ReadError>();
    is_error::<UnknownDataType>();
    is_shared::<PowerMeter>();
    is_shared::<Measurement>();
    is_shared::<Metadata>();
    is_shared::<Record>();
}

#[test]
fn a_rejected_setting_says_which_one_and_why() {
    let err = PowerMeter::builder().pue(0.9).build().unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::Pue);
    assert!(err.to_string().contains("at least 1.0"), "{err}");

    let err = PowerMeter::builder().cpu_tdp(-5.0).build().unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::CpuTdp);
    assert!(err.to_string().contains("-5"), "{err}");

    let boxed: Box<dyn Error + Send + Sync> = err.into();
    assert!(boxed.to_string().starts_with("cpu_tdp:"), "{boxed}");

    // Whether or not this build ships rows, a URL that is no connection string is refused,
    // and the password is not repeated.
    let err = PowerMeter::builder()
        .database_url("s3cret")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::DatabaseUrl);
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[test]
fn an_unknown_data_type_names_what_was_given_and_the_choices() {
    let err = "images".parse::<DataType>().unwrap_err();
    assert_eq!(err.name(), "images");
    assert!(err
        .to_string()
        .contains("tabular, image, text, time series, other"));
    assert_eq!("image".parse::<DataType>(), Ok(DataType::Image));
}

#[test]
fn a_log_that_is_not_there_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never-written.csv");
    let err = pgadget::get_logged_data(&path).unwrap_err();
    assert!(matches!(err, ReadError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("never-written.csv"), "{err}");
    assert!(
        err.source().is_some(),
        "the system's error is kept as the source"
    );
}

#[test]
fn a_measurement_prints_what_it_measures() {
    let dir = tempfile::tempdir().unwrap();
    let meter = PowerMeter::builder()
        .log_path(dir.path().join("power_logs.csv"))
        .get_country(false)
        .build()
        .unwrap();
    let window = meter.start(Metadata::new("std", "debug").data_type(DataType::Text));
    let printed = format!("{window:?}");
    assert!(
        printed.contains("\"std\"") && printed.contains("\"debug\""),
        "{printed}"
    );
    let row = window.finish().expect("an enabled meter writes a row");
    assert_eq!(
        (row.package.as_str(), row.data_type.as_str()),
        ("std", "text")
    );
    assert_eq!(pgadget::get_logged_data(meter.log_path()).unwrap(), [row]);
}

#[test]
fn the_features_of_this_build_are_listed() {
    let names: Vec<&str> = FEATURES.iter().map(|f| f.name).collect();
    assert_eq!(names, ["geolocation", "nvml", "postgres", "prometheus"]);
    for f in FEATURES {
        assert!(
            !f.without.is_empty(),
            "{} says what stands in for it",
            f.name
        );
    }
    assert_eq!(
        FEATURES
            .iter()
            .find(|f| f.name == "nvml")
            .map(|f| f.enabled),
        Some(cfg!(feature = "nvml"))
    );
}

// The only test of this file that installs a meter: the installed meter is per process.
#[test]
fn a_second_meter_is_refused_with_an_error_that_gives_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let build = |name: &str| {
        PowerMeter::builder()
            .log_path(dir.path().join(name))
            .get_country(false)
            .build()
            .unwrap()
    };
    let first = build("first.csv");
    first
        .clone()
        .install()
        .expect("the first meter is installed");
    first
        .install()
        .expect("installing the same meter again is fine");

    let err = build("second.csv").install().unwrap_err();
    assert!(
        err.to_string()
            .contains("install a meter before the first measured call"),
        "{err}"
    );
    let second = err.into_meter();
    assert_eq!(second.log_path(), dir.path().join("second.csv"));
    assert_eq!(
        PowerMeter::global().log_path(),
        dir.path().join("first.csv")
    );
}
