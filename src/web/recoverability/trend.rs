//! A source's RTO over its last drills as a small SVG line (oldest left), with its target as
//! a dashed line; failed drills are red dots at the bottom. Geometry only: the template
//! draws it, so the page needs no script.

use crate::db::DrillSource;

const WIDTH: f64 = 160.0;
const HEIGHT: f64 = 36.0;
const PAD: f64 = 4.0;

pub struct Trend {
    pub width: f64,
    pub height: f64,
    /// `x,y x,y …` of the passed drills' RTOs.
    pub line: String,
    pub points: Vec<TrendPoint>,
    /// The y of the target line, when a target is set.
    pub target_y: Option<f64>,
    /// What the line shows, for screen readers and the tooltip.
    pub label: String,
}

pub struct TrendPoint {
    pub x: f64,
    pub y: f64,
    pub failed: bool,
    pub title: String,
}

impl Trend {
    /// The trend of `drills` (newest first, as stored); `None` with fewer than two.
    pub fn of(drills: &[DrillSource], target_seconds: Option<i64>) -> Option<Trend> {
        if drills.len() < 2 {
            return None;
        }
        let oldest_first: Vec<&DrillSource> = drills.iter().rev().collect();
        let target_ms = target_seconds.map(|s| s as f64 * 1000.0);
        let top = oldest_first
            .iter()
            .map(|d| d.rto_ms as f64)
            .chain(target_ms)
            .fold(1.0, f64::max);
        let step = (WIDTH - 2.0 * PAD) / (oldest_first.len() - 1) as f64;
        let y_of = |ms: f64| HEIGHT - PAD - (ms / top) * (HEIGHT - 2.0 * PAD);
        let points: Vec<TrendPoint> = oldest_first
            .iter()
            .enumerate()
            .map(|(i, d)| TrendPoint {
                x: round(PAD + i as f64 * step),
                y: round(if d.passed {
                    y_of(d.rto_ms as f64)
                } else {
                    HEIGHT - PAD
                }),
                failed: !d.passed,
                title: format!(
                    "{}: {}",
                    crate::web::view::timestamp(&d.finished_at),
                    if d.passed {
                        super::rto_text(d.rto_ms)
                    } else {
                        "failed".into()
                    }
                ),
            })
            .collect();
        let line = points
            .iter()
            .filter(|p| !p.failed)
            .map(|p| format!("{},{}", p.x, p.y))
            .collect::<Vec<_>>()
            .join(" ");
        Some(Trend {
            width: WIDTH,
            height: HEIGHT,
            line,
            target_y: target_ms.map(|t| round(y_of(t))),
            label: format!("RTO of the last {} drills", points.len()),
            points,
        })
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill(rto_ms: i64, passed: bool) -> DrillSource {
        DrillSource {
            task_id: "t".into(),
            source: "db".into(),
            service: "s".into(),
            backup_id: "b".into(),
            passed,
            rto_ms,
            taken_at: crate::db::now(),
            finished_at: crate::db::now(),
        }
    }

    #[test]
    fn the_line_runs_oldest_to_newest_under_the_target() {
        // Newest first, as stored: 2 s (newest), failed, 4 s (oldest).
        let trend = Trend::of(
            &[drill(2000, true), drill(0, false), drill(4000, true)],
            Some(8),
        )
        .unwrap();
        assert_eq!(trend.line, "4,18 156,25");
        assert_eq!(trend.target_y, Some(4.0));
        assert!(trend.points[1].failed && trend.points[1].y == 32.0);
        assert!(Trend::of(&[drill(1, true)], None).is_none());
    }
}
