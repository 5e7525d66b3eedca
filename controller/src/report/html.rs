//! The HTML page: one self-contained file (inline CSS, an inline SVG timeline per operation,
//! no scripts, no fonts, images or styles from elsewhere), legible without a network.
//!
//! Every string that did not come from this file (group names, step details, journal
//! messages, actors) goes through [`escape`], in text and in attributes alike.

use std::fmt::Write as _;

use super::model::{OperationReport, StepReport, Verdict};
use super::{maybe_seconds, seconds, Page};

/// Text safe in HTML element content and in quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1080px;color:#1b1f24;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
h3{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.25rem .55rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.figures{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.figure{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:11rem}
.figure .label{font-size:.8rem;color:#57606a}.figure .value{font-size:1.6rem;font-weight:600}
.verdict{display:inline-block;border-radius:4px;padding:0 .4rem;font-size:.8rem;font-weight:600}
.met{background:#dafbe1;color:#116329}.missed{background:#ffebe9;color:#a40e26}.not_measured,.none{background:#eaeef2;color:#57606a}
svg.timeline{width:100%;height:auto;border:1px solid #d0d7de;border-radius:6px;background:#fff}
svg text{font-size:12px;fill:#1b1f24}svg .axis{stroke:#d0d7de}svg .tick{font-size:11px;fill:#57606a}
svg .bar{fill:#8fb8e8}svg .bar.critical{fill:#0969da}svg .bar.failed{fill:#cf222e}svg .bar.running{fill:#bf8700}
svg .bar.skipped{fill:#d0d7de}svg .name.critical{font-weight:700}
.legend span{display:inline-block;margin-right:1rem;font-size:.85rem}.swatch{display:inline-block;width:.9rem;height:.9rem;vertical-align:middle;margin-right:.3rem;border-radius:2px}
";

/// The whole page.
pub fn render_page(page: &Page) -> String {
    let mut out = String::new();
    let title = escape(&page.title);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    if !page.summary.is_empty() {
        out.push_str("<table class=\"summary\">\n");
        for (label, value) in &page.summary {
            let _ = writeln!(
                out,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(label),
                escape(value)
            );
        }
        out.push_str("</table>\n");
    }
    if page.operations.is_empty() {
        out.push_str("<p>No operation ran.</p>\n");
    }
    for report in &page.operations {
        out.push_str(&render_operation(report));
    }
    out.push_str("<p><small>Written by drctl. Times are UTC.</small></p>\n</body>\n</html>\n");
    out
}

fn render_operation(r: &OperationReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<section class=\"operation\" id=\"{id}\">\n<h2>{} {} &rarr; {} <small>({id}, {})</small></h2>",
        escape(&r.operation_type),
        escape(&r.from),
        escape(&r.to),
        escape(&r.state),
        id = escape(&r.operation_id),
    );
    let _ = writeln!(
        out,
        "<p>failovergroup/{}: started {}, {}</p>",
        escape(&r.group),
        r.started_at,
        match (r.finished_at, r.duration_seconds) {
            (Some(f), Some(d)) => format!("finished {f} after {}", seconds(d)),
            _ => "not finished".to_string(),
        }
    );
    if r.source == super::RecordSource::Journal {
        out.push_str(
            "<p class=\"source\">This operation was rebuilt from the journal: the status no \
             longer holds it (no notes; its RPO as the journal rounds it, to 0.1 s).</p>\n",
        );
    }
    out.push_str(&figures(r));
    out.push_str("<h3>Steps</h3>\n");
    out.push_str(&timeline(&r.steps));
    out.push_str(&steps_table(r));
    out.push_str(&mutations_table(r));
    out.push_str(&decisions_table(r));
    // Issue times (epoch milliseconds) are the controller's bookkeeping: the JSON has them.
    let notes: Vec<(&String, &String)> = r
        .notes
        .iter()
        .filter(|(_, v)| !v.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    if !notes.is_empty() {
        out.push_str("<h3>Notes</h3>\n<table>\n");
        for (k, v) in notes {
            let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
    out
}

/// RTO and RPO, each with its objective and verdict.
fn figures(r: &OperationReport) -> String {
    let mut out = String::from("<div class=\"figures\">\n");
    for (label, name, value) in [
        ("RTO (start &rarr; serving)", "rto_seconds", r.rto_seconds),
        ("RPO (data-loss window)", "rpo_seconds", r.rpo_seconds),
    ] {
        let verdict = match r.objectives.iter().find(|o| o.objective == name) {
            Some(o) => {
                let class = match o.verdict {
                    Verdict::Met => "met",
                    Verdict::Missed => "missed",
                    Verdict::NotMeasured => "not_measured",
                };
                format!(
                    "<span class=\"verdict {class}\">{}</span> objective {} s",
                    o.verdict.as_str(),
                    o.objective_seconds
                )
            }
            None => "<span class=\"verdict none\">no objective</span>".to_string(),
        };
        let _ = writeln!(
            out,
            "<div class=\"figure {name}\"><div class=\"label\">{label}</div>\
             <div class=\"value\">{}</div><div>{verdict}</div></div>",
            maybe_seconds(value)
        );
    }
    out.push_str("</div>\n");
    out
}

// The timeline's geometry, in SVG user units.
const WIDTH: f64 = 1000.0;
const LABEL_WIDTH: f64 = 170.0;
const RIGHT_MARGIN: f64 = 90.0;
const ROW: f64 = 26.0;
const AXIS: f64 = 28.0;

/// One row per step: its name on the left, a bar from its start to its end on a time axis
/// from the operation's start, its duration after the bar. Critical steps are darker.
pub fn timeline(steps: &[StepReport]) -> String {
    let end = steps
        .iter()
        .filter_map(|s| s.end_seconds.or(s.start_seconds))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let plot = WIDTH - LABEL_WIDTH - RIGHT_MARGIN;
    let x = |secs: f64| LABEL_WIDTH + (secs.max(0.0) / end) * plot;
    let height = AXIS + ROW * steps.len() as f64 + 8.0;
    let mut out = format!(
        "<svg class=\"timeline\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-label=\"steps on a time axis\">\n"
    );
    let tick = tick_interval(end);
    let mut t = 0.0;
    while t <= end + 1e-9 {
        let _ = writeln!(
            out,
            "<line class=\"axis\" x1=\"{0:.1}\" y1=\"{AXIS}\" x2=\"{0:.1}\" y2=\"{1:.1}\"/>\
             <text class=\"tick\" x=\"{0:.1}\" y=\"18\" text-anchor=\"middle\">{2}</text>",
            x(t),
            height - 8.0,
            tick_label(t)
        );
        t += tick;
    }
    for (i, s) in steps.iter().enumerate() {
        let y = AXIS + ROW * i as f64;
        let critical = if s.critical { " critical" } else { "" };
        let _ = writeln!(
            out,
            "<text class=\"name{critical}\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LABEL_WIDTH - 8.0,
            y + ROW * 0.65,
            escape(&s.name)
        );
        let Some(start) = s.start_seconds else {
            let _ = writeln!(
                out,
                "<text class=\"pending\" x=\"{:.1}\" y=\"{:.1}\">not started</text>",
                LABEL_WIDTH + 4.0,
                y + ROW * 0.65
            );
            continue;
        };
        let stop = s.end_seconds.unwrap_or(end);
        let width = (x(stop) - x(start)).max(2.0);
        let state = s.state.to_ascii_lowercase();
        let label = match s.duration_seconds {
            Some(d) => seconds(d),
            None => s.state.to_ascii_lowercase(),
        };
        let _ = writeln!(
            out,
            "<rect class=\"bar {state}{critical}\" data-step=\"{name}\" x=\"{:.1}\" y=\"{:.1}\" \
             width=\"{width:.1}\" height=\"{:.1}\" rx=\"3\"><title>{name}: {} from +{} ({})</title></rect>\
             <text class=\"duration\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x(start),
            y + 5.0,
            ROW - 10.0,
            escape(&label),
            seconds(start),
            escape(&s.state),
            x(start) + width + 4.0,
            y + ROW * 0.65,
            escape(&label),
            name = escape(&s.name),
        );
    }
    out.push_str("</svg>\n<p class=\"legend\"><span><i class=\"swatch\" style=\"background:#0969da\"></i>critical path</span>\
                  <span><i class=\"swatch\" style=\"background:#8fb8e8\"></i>other steps</span>\
                  <span><i class=\"swatch\" style=\"background:#bf8700\"></i>running</span>\
                  <span><i class=\"swatch\" style=\"background:#cf222e\"></i>failed</span></p>\n");
    out
}

/// A round tick interval giving at most about ten ticks over `end` seconds.
fn tick_interval(end: f64) -> f64 {
    const NICE: [f64; 14] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];
    NICE.iter()
        .copied()
        .find(|t| end / t <= 10.0)
        .unwrap_or_else(|| (end / 10.0 / 3600.0).ceil() * 3600.0)
}

fn tick_label(t: f64) -> String {
    let whole = t.round() as i64;
    match whole {
        s if s < 60 => format!("{s}s"),
        s if s % 60 == 0 && s < 3600 => format!("{}m", s / 60),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn steps_table(r: &OperationReport) -> String {
    let mut out = String::from(
        "<table class=\"steps\">\n<tr><th>step</th><th>state</th><th>start</th><th>end</th>\
         <th>duration</th><th>detail</th></tr>\n",
    );
    for s in &r.steps {
        let critical = if s.critical { " (critical)" } else { "" };
        let offset = |v: Option<f64>| v.map(|v| format!("+{}", seconds(v))).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td>{}{critical}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&s.name),
            escape(&s.state),
            offset(s.start_seconds),
            offset(s.end_seconds),
            maybe_seconds(s.duration_seconds),
            escape(s.detail.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
    out
}

fn mutations_table(r: &OperationReport) -> String {
    let mut out = format!("<h3>AWS mutations ({})</h3>\n", r.mutations.len());
    if r.mutations.is_empty() {
        out.push_str("<p>None journaled for this operation.</p>\n");
        return out;
    }
    out.push_str(
        "<table class=\"mutations\">\n<tr><th>at</th><th>step</th><th>API call</th>\
         <th>region</th><th>outcome</th><th>what</th></tr>\n",
    );
    for m in &r.mutations {
        let outcome = match m.outcome {
            super::MutationOutcome::Applied => "<span class=\"verdict met\">applied</span>",
            super::MutationOutcome::Failed => "<span class=\"verdict missed\">failed</span>",
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">+{}</td><td>{}</td><td>{}</td><td>{}</td><td>{outcome}</td><td>{}</td></tr>",
            seconds(m.at_seconds),
            escape(m.step.as_deref().unwrap_or("-")),
            escape(&m.api_operation),
            escape(m.region.as_deref().unwrap_or("-")),
            escape(&m.message)
        );
    }
    out.push_str("</table>\n");
    out
}

fn decisions_table(r: &OperationReport) -> String {
    let mut out = String::from("<h3>Who decided</h3>\n");
    if r.decisions.is_empty() {
        out.push_str("<p>No edit, approval or decision journaled for this operation.</p>\n");
        return out;
    }
    out.push_str(
        "<table class=\"decisions\">\n<tr><th>at</th><th>by</th><th>who</th><th>what</th>\
         <th>why</th></tr>\n",
    );
    for d in &r.decisions {
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if d.at_seconds >= 0.0 { "+" } else { "" },
            seconds(d.at_seconds),
            d.by.as_str(),
            escape(&d.actor),
            escape(&d.what),
            escape(&d.why)
        );
    }
    out.push_str("</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_quotes_and_ampersands() {
        let hostile = r#"<script>alert("x")</script> & 'single' "double" &amp;"#;
        let escaped = escape(hostile);
        assert_eq!(
            escaped,
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;single&#39; \
             &quot;double&quot; &amp;amp;"
        );
        for raw in ['<', '>', '"', '\''] {
            assert!(!escaped.contains(raw), "{raw} left in {escaped}");
        }
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn ticks_are_round_and_at_most_about_ten() {
        assert_eq!(tick_interval(8.0), 1.0);
        assert_eq!(tick_interval(243.0), 30.0);
        assert_eq!(tick_interval(3840.0), 600.0);
        assert_eq!(tick_label(90.0), "1m30s");
        assert_eq!(tick_label(3600.0), "1h");
    }
}
