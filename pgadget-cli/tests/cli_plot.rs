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
fn missing_and_malformed_logs_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("out.svg");
    fails_on_missing_and_malformed_logs(&["plot", "-o", svg.to_str().unwrap()]);
    assert!(
        !svg.exists(),
        "no plot is written when the log cannot be read"
    );
}
