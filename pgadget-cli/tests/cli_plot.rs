//! `pgadget plot` on a log written by the library.
//!
//! plotters writes a flat SVG (no `<g>`), so bars are found by their fill colour: each energy
//! domain and CO2 has its own colour, every bar segment is one `<rect>` of its domain's colour,
//! and each legend entry adds one small rect (12 px wide) of that colour. Bars are wider than
//! 40 px, which tells them from the legend swatch.

mod cli_common;

use cli_common::*;

/// "CPU package (or cores)" in the plot.
const CPU_FILL: &str = "#1F77B4";
/// DRAM and GPU, which the estimate does not measure.
const OTHER_FILLS: [&str; 2] = ["#FF7F0E", "#2CA02C"];
/// The CO2 bars.
const CO2_FILL: &str = "#7F7F7F";

struct Rect {
    x: f64,
    width: f64,
    height: f64,
}

fn rects_filled(doc: &roxmltree::Document, fill: &str) -> Vec<Rect> {
    let num = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("rect"))
        .filter(|n| {
            n.attribute("fill")
                .is_some_and(|f| f.eq_ignore_ascii_case(fill))
        })
        .map(|n| Rect {
            x: num(n, "x"),
            width: num(n, "width"),
            height: num(n, "height"),
        })
        .collect()
}

#[test]
fn one_bar_per_group_named_on_the_x_axis() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let svg_path = dir.path().join("energy.svg");
    let out = run(&[
        "plot",
        "--by",
        "algorithm",
        "-o",
        svg_path.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg_path).expect("the SVG was written");
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    assert!(doc.root_element().has_tag_name("svg"));

    let cpu = rects_filled(&doc, CPU_FILL);
    let (bars, swatches): (Vec<Rect>, Vec<Rect>) = cpu.into_iter().partition(|r| r.width > 40.0);
    assert_eq!(swatches.len(), 1, "one legend entry for the CPU domain");
    assert_eq!(
        bars.len(),
        3,
        "one bar per algorithm (RandomForest, KMeans, SVM)"
    );
    // The estimate measures no DRAM or GPU: nothing is drawn for them.
    for fill in OTHER_FILLS {
        assert!(
            rects_filled(&doc, fill).is_empty(),
            "unexpected {fill} rects"
        );
    }
    // Offline rows are charged to the world average, so each group has a CO2 bar too.
    let co2_bars = rects_filled(&doc, CO2_FILL)
        .into_iter()
        .filter(|r| r.width > 40.0)
        .count();
    assert_eq!(co2_bars, 3, "one CO2 bar per algorithm");
    // Left to right, most energy first, as in `summary`.
    let mut bars = bars;
    bars.sort_by(|a, b| a.x.total_cmp(&b.x));
    assert!(bars.windows(2).all(|w| w[0].height >= w[1].height));

    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect();
    for expected in [
        "Energy and CO2 by algorithm",
        "Energy (mWh)",
        "Algorithm",
        "CPU package (or cores)",
        "RandomForest",
        "KMeans",
        "SVM",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "no text `{expected}` in {texts:?}"
        );
    }
    // The names under the bars come in the order of the energies in the log.
    let mut totals: Vec<(String, f64)> = Vec::new();
    for r in rows(&log) {
        match totals.iter_mut().find(|(name, _)| *name == r.algorithm) {
            Some((_, total)) => *total += r.total_mwh(),
            None => totals.push((r.algorithm.clone(), r.total_mwh())),
        }
    }
    totals.sort_by(|a, b| b.1.total_cmp(&a.1));
    let expected: Vec<&str> = totals.iter().map(|(name, _)| name.as_str()).collect();
    let labels: Vec<&str> = texts
        .iter()
        .map(|t| t.as_str())
        .filter(|t| ["RandomForest", "KMeans", "SVM"].contains(t))
        .collect();
    // Once under the energy bars, once under the CO2 bars, in the same order.
    assert_eq!(labels, [expected.clone(), expected].concat());
}

#[test]
fn filters_and_grouping_change_the_bars() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let svg_path = dir.path().join("projects.svg");
    let out = run(&[
        "plot",
        "--by",
        "project",
        "--algorithm",
        "RandomForest",
        "-o",
        svg_path.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let bars = rects_filled(&doc, CPU_FILL)
        .into_iter()
        .filter(|r| r.width > 40.0)
        .count();
    assert_eq!(bars, 2, "RandomForest ran in iris and digits");
}

#[test]
fn a_missing_log_is_an_error_and_a_malformed_row_is_skipped_unless_strict() {
    // `-o -`: the SVG goes to stdout.
    let out = fails_on_missing_logs_and_skips_malformed_rows(&["plot", "-o", "-"]);
    let text = stdout(&out);
    let doc = roxmltree::Document::parse(&text).expect("an SVG on stdout");
    let bars = rects_filled(&doc, CPU_FILL)
        .into_iter()
        .filter(|r| r.width > 40.0)
        .count();
    assert_eq!(bars, 1, "one bar, of the two good rows");
}

/// The texts of the SVG.
fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn infinite_nan_and_negative_energies_are_skipped_and_never_hang_a_command() {
    use pgadget_test_support::logs::{self, row};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let package = "Cumulative Package Energy (mWh)";
    let text = logs::header()
        + &row(&[(package, "2.5"), ("Algorithm", "good")])
        + &row(&[(package, "inf"), ("Algorithm", "bad")])
        // Two rows that would add up to infinity.
        + &row(&[(package, "1e308"), ("Algorithm", "bad")])
        + &row(&[(package, "1e308"), ("Algorithm", "bad")])
        + &row(&[(package, "NaN"), ("Algorithm", "bad")])
        + &row(&[("Cumulative DRAM Energy (mWh)", "-1"), ("Algorithm", "bad")])
        + &row(&[("CO2 emitted (gCO2e)", "inf"), ("Algorithm", "bad")]);
    let log = logs::write(dir.path(), "power_logs.csv", &text);
    let log_s = log.to_str().unwrap();
    // Each once ran for ever (plot) or printed "inf"; a minute is far more than any needs.
    let limit = Duration::from_secs(60);
    for by in ["algorithm", "function", "day"] {
        let out = run_bounded(&["plot", "--by", by, "-o", "-", "--log", log_s], limit);
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        for line in 3..=8 {
            assert!(
                err.contains(&format!("{log_s}:{line}: skipped a malformed row")),
                "line {line}: {err}"
            );
        }
        let svg = stdout(&out);
        let doc = roxmltree::Document::parse(&svg).expect("a well-formed SVG");
        assert!(
            !texts(&doc).iter().any(|t| t == "bad"),
            "no bar for bad rows"
        );
    }
    let out = run_bounded(&["summary", "--json", "--log", log_s], limit);
    assert!(out.status.success(), "{}", stderr(&out));
    let groups: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["group"], "good");
    assert_eq!(groups[0]["energy_mwh"], 3.0, "2.5 package + 0.5 DRAM");
    let out = run_bounded(&["show", "--log", log_s], limit);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[cfg(target_os = "linux")]
#[test]
fn the_largest_and_smallest_valid_energies_are_plotted() {
    use pgadget_test_support::logs::{self, row};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let package = "Cumulative Package Energy (mWh)";
    let mut text = logs::header();
    for _ in 0..1000 {
        text += &row(&[
            (package, "1e15"),
            ("CO2 emitted (gCO2e)", "1e15"),
            ("Algorithm", "huge"),
        ]);
    }
    text += &row(&[
        (package, "5e-324"),
        ("Cumulative DRAM Energy (mWh)", "0"),
        ("CO2 emitted (gCO2e)", "5e-324"),
        ("Algorithm", "tiny"),
    ]);
    let log = logs::write(dir.path(), "power_logs.csv", &text);
    let out = run_bounded(
        &["plot", "-o", "-", "--log", log.to_str().unwrap()],
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = stdout(&out);
    let doc = roxmltree::Document::parse(&svg).expect("a well-formed SVG");
    let labels = texts(&doc);
    assert!(labels.iter().any(|t| t == "huge") && labels.iter().any(|t| t == "tiny"));
}

#[test]
fn dash_writes_the_svg_to_stdout_and_nothing_else_there() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(dir.path());
    let out = run(&["plot", "-o", "-", "--log", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = stdout(&out);
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    let doc = roxmltree::Document::parse(&svg).expect("only the SVG is on stdout");
    assert!(texts(&doc).iter().any(|t| t == "RandomForest"));
    assert!(!dir.path().join("-").exists(), "no file named `-`");
}

#[test]
fn functions_of_one_module_are_told_apart_on_the_axis() {
    use pgadget_runtime::Metadata;
    use pgadget_test_support::meter::estimate_meter;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("power_logs.csv");
    let meter = estimate_meter(&log);
    let functions = [
        "iris_classifier::models::ensemble::train_random_forest",
        "iris_classifier::models::ensemble::train_gradient_boosting",
        "iris_classifier::models::ensemble::evaluate",
    ];
    for f in functions {
        meter.measure_power(Metadata::new("linfa", "fit").function(f), || ());
    }
    let out = run(&[
        "plot",
        "--by",
        "function",
        "-o",
        "-",
        "--log",
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = stdout(&out);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let labels: Vec<String> = texts(&doc)
        .into_iter()
        .filter(|t| t.contains("train_") || t.contains("evaluate"))
        .collect();
    // Under the energy bars and under the CO2 bars: each function's own name, all distinct.
    assert_eq!(labels.len(), 2 * functions.len(), "{labels:?}");
    for name in ["train_random_forest", "train_gradient_boosting", "evaluate"] {
        assert_eq!(
            labels.iter().filter(|l| l.ends_with(name)).count(),
            2,
            "{name} in {labels:?}"
        );
    }
    assert!(labels.iter().all(|l| l.chars().count() <= 24), "{labels:?}");
}
