//! `pgadget plot`: an SVG bar chart of energy (stacked by domain) and CO2 per group.
//!
//! plotters' SVG backend writes text as `<text>` elements and sizes it with a built-in
//! estimate, so no font file (and no fontconfig) is needed.

use super::filter::LogFilter;
use super::format::{terminal_safe, terminal_safe_lines};
use super::group::{self, By, Group};
use super::CliError;
use clap::Args;
use pgadget_runtime::log::explain_io_error;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::RangedCoordi32;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Options of `pgadget plot`.
#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// What to group the rows by (one bar per group)
    #[arg(long, value_enum, default_value = "algorithm")]
    pub by: By,
    /// The SVG file to write; `-` writes it to standard output
    #[arg(short = 'o', long = "output", value_name = "FILE.svg")]
    pub output: PathBuf,
    /// Draw at most N bars: the N groups with the most energy (with --by day: the N latest
    /// days), the others summed into one bar
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    pub top: u16,
    #[command(flatten)]
    pub filter: LogFilter,
}

/// One energy domain of the stacked bars.
pub struct Domain {
    /// Its name in the legend.
    pub name: &'static str,
    /// Its colour: distinct from the other domains' and from [`CO2_COLOR`], so every bar
    /// segment in the SVG can be told apart by its `fill`.
    pub color: RGBColor,
    /// Its energy in a group, mWh.
    pub mwh: fn(&Group) -> f64,
}

/// The energy domains, bottom to top in a bar.
pub const DOMAINS: [Domain; 3] = [
    Domain {
        name: "CPU package (or cores)",
        color: RGBColor(0x1f, 0x77, 0xb4),
        mwh: |g| g.cpu_mwh,
    },
    Domain {
        name: "DRAM",
        color: RGBColor(0xff, 0x7f, 0x0e),
        mwh: |g| g.dram_mwh,
    },
    Domain {
        name: "GPU",
        color: RGBColor(0x2c, 0xa0, 0x2c),
        mwh: |g| g.gpu_mwh,
    },
];

/// The colour of the CO2 bars.
pub const CO2_COLOR: RGBColor = RGBColor(0x7f, 0x7f, 0x7f);

/// Group names longer than this are shortened on the x axis.
const MAX_LABEL_CHARS: usize = 24;

/// Writes the chart of the selected rows to `--output`.
pub fn run(args: &PlotArgs) -> Result<(), CliError> {
    let to_stdout = args.output.as_os_str() == "-";
    let (summary, scan) = super::summary::summarise(&args.filter, args.by)?;
    if scan.kept == 0 {
        return Err(CliError::new(format!(
            "nothing to plot: {}",
            super::show::nothing_to_show(&scan, &args.filter).trim_start_matches("pgadget: ")
        )));
    }
    if !to_stdout && args.output.extension().is_some() && !is_svg(&args.output) {
        eprintln!(
            "pgadget: {} will hold an SVG image whatever its extension says",
            terminal_safe_lines(&args.output.display().to_string())
        );
    }
    let groups = bars(summary.finish(), args.by, args.top.into());
    // The reader keeps every cell within 1e15, so no sum can overflow; a bar that is not a
    // finite number would still send the chart's axis into an endless search for ticks.
    if let Some(g) = groups.iter().find(|g| !drawable(g)) {
        return Err(CliError::new(format!(
            "cannot plot group `{}`: its totals are not finite numbers",
            terminal_safe(&g.group)
        )));
    }
    let subtitle = format!(
        "{} calls from {}",
        scan.kept,
        terminal_safe_lines(&scan.source)
    );
    let svg = render(&groups, args.by, &subtitle)?;
    if to_stdout {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(svg.as_bytes())
            .and_then(|_| out.flush())
            .map_err(CliError::stdout);
    }
    std::fs::write(&args.output, svg).map_err(|e| {
        CliError::new(format!(
            "cannot write the plot to {}: {}",
            args.output.display(),
            explain_io_error(&args.output, e)
        ))
    })?;
    eprintln!(
        "pgadget: wrote {} ({} bars)",
        terminal_safe_lines(&args.output.display().to_string()),
        groups.len()
    );
    Ok(())
}

/// Whether every figure of `g` can be drawn.
fn drawable(g: &Group) -> bool {
    [
        g.energy_mwh,
        g.cpu_mwh,
        g.dram_mwh,
        g.gpu_mwh,
        g.co2_g.unwrap_or(0.0),
    ]
    .iter()
    .all(|v| v.is_finite())
}

/// The bars to draw, left to right: the `top` groups with the most energy, the rest summed
/// into one last bar; for `--by day`, the `top` latest days in calendar order, earlier days
/// summed into one first bar.
fn bars(mut groups: Vec<Group>, by: By, top: usize) -> Vec<Group> {
    let top = top.max(1);
    if by == By::Day {
        // Day keys are `YYYY-MM-DD`, so their text order is their calendar order.
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        if groups.len() <= top {
            return groups;
        }
        let kept = groups.split_off(groups.len() - (top - 1));
        let mut earlier = merge(&groups);
        earlier.group = format!("{} earlier days", groups.len());
        let mut out = vec![earlier];
        out.extend(kept);
        return out;
    }
    if groups.len() <= top {
        return groups;
    }
    let rest = groups.split_off(top - 1);
    let mut others = merge(&rest);
    others.group = format!("{} others", rest.len());
    groups.push(others);
    groups
}

/// The sum of several groups (at least one).
fn merge(groups: &[Group]) -> Group {
    let mut sum = groups[0].clone();
    for g in &groups[1..] {
        sum.calls += g.calls;
        sum.energy_mwh += g.energy_mwh;
        sum.cpu_mwh += g.cpu_mwh;
        sum.dram_mwh += g.dram_mwh;
        sum.gpu_mwh += g.gpu_mwh;
        sum.co2_g = match (sum.co2_g, g.co2_g) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        sum.calls_without_co2 += g.calls_without_co2;
        sum.elapsed_secs += g.elapsed_secs;
    }
    sum.mean_energy_mwh = sum.energy_mwh / sum.calls as f64;
    sum.mean_elapsed_secs = sum.elapsed_secs / sum.calls as f64;
    sum
}

/// The groups' names for the x axis, each distinct. A long name is shortened: a function
/// (`crate::module::function`) keeps its end, where the names of one module differ; other
/// names keep their start. Names that would still look alike are shown whole.
fn labels(groups: &[Group], by: By) -> Vec<String> {
    let names: Vec<String> = groups
        .iter()
        .map(|g| terminal_safe(group::display_name(&g.group)).into_owned())
        .collect();
    let short: Vec<String> = names
        .iter()
        .map(|name| shorten(name, by == By::Function))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for s in &short {
        *seen.entry(s.as_str()).or_default() += 1;
    }
    short
        .iter()
        .zip(&names)
        .map(|(s, name)| {
            if seen[s.as_str()] > 1 {
                name.clone()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// `name` cut to [`MAX_LABEL_CHARS`] with an ellipsis: its end kept when `keep_end`, else its
/// start.
fn shorten(name: &str, keep_end: bool) -> String {
    let n = name.chars().count();
    if n <= MAX_LABEL_CHARS {
        return name.to_string();
    }
    if keep_end {
        let tail: String = name.chars().skip(n - (MAX_LABEL_CHARS - 1)).collect();
        format!("…{tail}")
    } else {
        let mut head: String = name.chars().take(MAX_LABEL_CHARS - 1).collect();
        head.push('…');
        head
    }
}

fn draw_error(e: impl std::fmt::Display) -> CliError {
    CliError::new(format!("cannot draw the plot: {e}"))
}

/// The SVG document: a title, the stacked energy bars, and the CO2 bars below them when any
/// row has CO2.
fn render(groups: &[Group], by: By, subtitle: &str) -> Result<String, CliError> {
    let labels = labels(groups, by);
    let subtitle = terminal_safe(subtitle);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    // Wide enough that every name fits under its own bar, horizontally.
    let bar_px = (longest as u32 * 8 + 16).max(70);
    let width = (140 + bar_px * groups.len() as u32).max(640);
    let has_co2 = groups.iter().any(|g| g.co2_g.is_some());
    let height = if has_co2 { 820 } else { 500 };
    let subtitle = if has_co2 {
        subtitle.to_string()
    } else {
        format!("{subtitle}; no CO2 panel: no row has a CO2 figure (country lookup off or failed)")
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let title = format!("Energy and CO2 by {}", by.title().to_lowercase());
        let root = root
            .titled(&title, ("sans-serif", 24))
            .map_err(draw_error)?;
        let root = root
            .titled(
                &subtitle,
                ("sans-serif", 14).into_font().color(&BLACK.mix(0.7)),
            )
            .map_err(draw_error)?;
        if has_co2 {
            let (top, bottom) = root.split_vertically(height * 55 / 100);
            draw_energy(&top, groups, &labels, by)?;
            draw_co2(&bottom, groups, &labels, by)?;
        } else {
            draw_energy(&root, groups, &labels, by)?;
        }
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<SegmentedCoord<RangedCoordi32>, plotters::coord::types::RangedCoordf64>,
>;

/// A chart with one slot per group on x and `0..max` on y, its axes labelled.
fn chart<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    y_desc: &str,
    max: f64,
    labels: &'a [String],
    by: By,
) -> Result<Chart<'a, 'b>, CliError> {
    let n = labels.len() as i32;
    // One slot per group: 0..n-1 segmented. A single group would make that range empty (0..0),
    // which draws its bar with a negative width: it gets an empty slot either side instead.
    let slots = if n == 1 { -1..1 } else { 0..n - 1 };
    // Headroom above the tallest bar for its value and the legend (upper right): the legend
    // and the value take less than 30% of a panel's plotting height.
    let top = if max > 0.0 { max * 1.4 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(slots.into_segmented(), 0.0..top)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(labels.len())
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| labels.get(i))
                .cloned()
                .unwrap_or_default(),
            SegmentValue::Last => String::new(),
        })
        .y_label_formatter(&|y| tick(*y))
        .y_max_light_lines(1)
        .x_desc(by.title())
        .y_desc(y_desc)
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(draw_error)?;
    Ok(chart)
}

/// An axis tick: the number without trailing zeros (`50`, not `50.00`).
fn tick(y: f64) -> String {
    let text = super::format::number(y);
    if text.contains('.') && !text.contains('e') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// One bar segment from `y0` to `y1` in slot `i`.
fn bar(i: usize, y0: f64, y1: f64, color: RGBColor) -> Rectangle<(SegmentValue<i32>, f64)> {
    let i = i as i32;
    let mut rect = Rectangle::new(
        [
            (SegmentValue::Exact(i), y0),
            (SegmentValue::Exact(i + 1), y1),
        ],
        color.filled(),
    );
    rect.set_margin(0, 0, 8, 8);
    rect
}

/// The value above a bar.
fn value_label(i: usize, y: f64, text: String) -> Text<'static, (SegmentValue<i32>, f64), String> {
    Text::new(
        text,
        (SegmentValue::CenterOf(i as i32), y),
        ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Bottom)),
    )
}

fn draw_energy(area: &Area, groups: &[Group], labels: &[String], by: By) -> Result<(), CliError> {
    let max = groups.iter().map(|g| g.energy_mwh).fold(0.0, f64::max);
    let mut chart = chart(
        area,
        "Energy per group, stacked by domain",
        "Energy (mWh)",
        max,
        labels,
        by,
    )?;
    let mut base = vec![0.0; groups.len()];
    for Domain { name, color, mwh } in DOMAINS {
        // A domain no group used gets neither bars nor a legend entry.
        if groups.iter().all(|g| mwh(g) <= 0.0) {
            continue;
        }
        let mut segments = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let v = mwh(g);
            if v > 0.0 {
                segments.push(bar(i, base[i], base[i] + v, color));
                base[i] += v;
            }
        }
        chart
            .draw_series(segments)
            .map_err(draw_error)?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled()));
    }
    chart
        .draw_series(
            groups
                .iter()
                .enumerate()
                .map(|(i, g)| value_label(i, g.energy_mwh, super::format::number(g.energy_mwh))),
        )
        .map_err(draw_error)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.5))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(draw_error)
}

fn draw_co2(area: &Area, groups: &[Group], labels: &[String], by: By) -> Result<(), CliError> {
    let max = groups.iter().filter_map(|g| g.co2_g).fold(0.0, f64::max);
    let partial = groups.iter().any(|g| g.calls_without_co2 > 0);
    let caption = if partial {
        "CO2 emitted per group (calls without a CO2 figure count as nothing)"
    } else {
        "CO2 emitted per group"
    };
    let mut chart = chart(area, caption, "CO2 (gCO2e)", max, labels, by)?;
    chart
        .draw_series(groups.iter().enumerate().filter_map(|(i, g)| {
            g.co2_g
                .filter(|c| *c > 0.0)
                .map(|c| bar(i, 0.0, c, CO2_COLOR))
        }))
        .map_err(draw_error)?;
    chart
        .draw_series(groups.iter().enumerate().map(|(i, g)| {
            let text = g
                .co2_g
                .map(super::format::number)
                .unwrap_or_else(|| "no CO2 figure".into());
            value_label(i, g.co2_g.unwrap_or(0.0), text)
        }))
        .map_err(draw_error)?;
    Ok(())
}

/// Whether `path` has the `.svg` extension.
fn is_svg(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, energy: f64) -> Group {
        Group {
            group: name.into(),
            calls: 1,
            energy_mwh: energy,
            mean_energy_mwh: energy,
            cpu_mwh: energy,
            dram_mwh: 0.0,
            gpu_mwh: 0.0,
            co2_g: None,
            calls_without_co2: 1,
            elapsed_secs: 1.0,
            mean_elapsed_secs: 1.0,
        }
    }

    #[test]
    fn groups_past_the_top_are_summed_into_one_bar() {
        let groups = vec![
            group("a", 5.0),
            group("b", 3.0),
            group("c", 2.0),
            group("d", 1.0),
        ];
        let drawn = bars(groups, By::Algorithm, 3);
        let names: Vec<&str> = drawn.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["a", "b", "2 others"]);
        assert_eq!(drawn[2].energy_mwh, 3.0);
        assert_eq!(drawn[2].calls, 2);
    }

    #[test]
    fn days_are_drawn_in_calendar_order_latest_kept() {
        let groups = vec![
            group("2026-11-26", 1.0),
            group("2026-11-24", 9.0),
            group("2026-11-25", 2.0),
        ];
        let drawn = bars(groups, By::Day, 2);
        let names: Vec<&str> = drawn.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["2 earlier days", "2026-11-26"]);
        assert_eq!(drawn[0].energy_mwh, 11.0);
    }

    #[test]
    fn long_names_are_shortened_on_the_axis() {
        let long = group(&"x".repeat(40), 1.0);
        let short = labels(&[long, group("", 1.0)], By::Algorithm);
        assert_eq!(short[0], format!("{}…", "x".repeat(MAX_LABEL_CHARS - 1)));
        assert_eq!(short[1], "(none)");
    }

    #[test]
    fn functions_of_one_module_keep_the_names_that_tell_them_apart() {
        let names = [
            "my_crate::models::ensemble::train_random_forest",
            "my_crate::models::ensemble::train_gradient_boosting",
            "my_crate::models::ensemble::predict",
        ];
        let groups: Vec<Group> = names.iter().map(|n| group(n, 1.0)).collect();
        let short = labels(&groups, By::Function);
        assert_eq!(short[0], "…le::train_random_forest");
        assert_eq!(short[1], "…train_gradient_boosting");
        assert_eq!(short[2], "…dels::ensemble::predict");
        assert!(short.iter().all(|l| l.chars().count() <= MAX_LABEL_CHARS));
    }

    #[test]
    fn names_that_would_look_alike_are_shown_whole() {
        let names = [
            "a_rather_long_crate_name::first_module::fit",
            "a_rather_long_crate_name::second_module::fit",
        ];
        let groups: Vec<Group> = names.iter().map(|n| group(n, 1.0)).collect();
        assert_eq!(labels(&groups, By::Algorithm), names);
        // By function, the ends differ: they are kept.
        let by_function = labels(&groups, By::Function);
        assert_ne!(by_function[0], by_function[1]);
    }
}
