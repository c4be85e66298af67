//! Trend charts: plotters' SVG backend, rendered on the server and inlined in the page.

use plotters::prelude::*;

/// One series of a trend chart.
pub(crate) struct Series<'a> {
    pub label: &'a str,
    pub values: Vec<f64>,
    pub color: RGBColor,
}

pub(crate) const BLUE: RGBColor = RGBColor(10, 92, 173);
pub(crate) const RED: RGBColor = RGBColor(139, 0, 0);
pub(crate) const ORANGE: RGBColor = RGBColor(163, 58, 0);
pub(crate) const OCHRE: RGBColor = RGBColor(122, 91, 0);
pub(crate) const GREEN: RGBColor = RGBColor(47, 95, 47);

/// A line chart of `series` over the snapshots labelled `x_labels` (oldest first), as an
/// SVG document; `None` when plotting fails (the page then shows the figures alone).
pub(crate) fn trend(title: &str, x_labels: &[String], series: &[Series<'_>]) -> Option<String> {
    let n = x_labels.len().max(1);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0f64, f64::max);
    let top = if max <= 0.0 { 1.0 } else { max * 1.1 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (320, 140)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(6)
            .x_label_area_size(20)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..((n - 1).max(1)) as f64, 0f64..top)
            .ok()?;
        let labels = x_labels.to_vec();
        chart
            .configure_mesh()
            .x_labels(n.min(4))
            .y_labels(4)
            .x_label_formatter(&|x| {
                let i = x.round().max(0.0) as usize;
                labels.get(i).cloned().unwrap_or_default()
            })
            .y_label_formatter(&|y| short(*y))
            .label_style(("sans-serif", 10).into_font().color(&BLACK))
            .light_line_style(WHITE)
            .draw()
            .ok()?;
        for s in series {
            let points: Vec<(f64, f64)> = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| (i as f64, *v))
                .collect();
            let style = ShapeStyle::from(&s.color).stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .ok()?;
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new(*p, 2, ShapeStyle::from(&s.color).filled())),
                )
                .ok()?;
        }
        root.present().ok()?;
    }
    // An accessible name for the image: the title and each series' values.
    let described: Vec<String> = series
        .iter()
        .map(|s| {
            let values: Vec<String> = s.values.iter().map(|v| short(*v)).collect();
            format!("{}: {}", s.label, values.join(", "))
        })
        .collect();
    let label = format!(
        "{title} over the retained snapshots. {}",
        described.join("; ")
    );
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    Some(svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" focusable=\"false\" "),
        1,
    ))
}

/// 1234 → "1234", 12345 → "12.3k", 1234567 → "1.23M"; fractions with one decimal.
pub(crate) fn short(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.2}M", v / 1_000_000.0)
    } else if v >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v.fract().abs() > 1e-9 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}
