//! The dashboard's chart of backup size (bars) and duration (line) over the last successful
//! backups, as SVG geometry computed here; `templates/dashboard.html` draws it, so every
//! label goes through askama's escaping and the page needs no script.

use crate::db::Backup;
use crate::present::human_bytes;
use crate::web::backups::rows::duration;
use crate::web::view::timestamp;

pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 64.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;

pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// Tooltip: name, time, size, duration.
    pub title: String,
}

pub struct Point {
    pub x: f64,
    pub y: f64,
}

pub struct AxisLabel {
    pub x: f64,
    pub y: f64,
    pub text: String,
    /// SVG `text-anchor`: the first time label starts at the axis, the last ends there.
    pub anchor: &'static str,
}

pub struct Chart {
    pub width: f64,
    pub height: f64,
    pub plot_left: f64,
    pub plot_right: f64,
    pub plot_top: f64,
    pub plot_bottom: f64,
    pub bars: Vec<Bar>,
    /// `x,y x,y …` for a `<polyline>`.
    pub line: String,
    pub points: Vec<Point>,
    pub size_labels: Vec<AxisLabel>,
    pub duration_labels: Vec<AxisLabel>,
    pub time_labels: Vec<AxisLabel>,
}

impl Chart {
    /// The chart of `backups` (oldest first); `None` when there is nothing to draw.
    pub fn of(backups: &[Backup]) -> Option<Chart> {
        if backups.is_empty() {
            return None;
        }
        let plot_right = WIDTH - RIGHT;
        let plot_bottom = HEIGHT - BOTTOM;
        let plot_width = plot_right - LEFT;
        let plot_height = plot_bottom - TOP;
        let max_size = backups
            .iter()
            .map(|b| b.size_bytes)
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let seconds: Vec<f64> = backups.iter().map(seconds_taken).collect();
        let max_seconds = seconds.iter().cloned().fold(1.0, f64::max);
        let slot = plot_width / backups.len() as f64;
        let mut bars = Vec::new();
        let mut points = Vec::new();
        for (i, (backup, secs)) in backups.iter().zip(&seconds).enumerate() {
            let height = backup.size_bytes.max(0) as f64 / max_size * plot_height;
            let x = LEFT + slot * i as f64;
            bars.push(Bar {
                x: round(x + slot * 0.15),
                y: round(plot_bottom - height),
                width: round(slot * 0.7),
                height: round(height),
                title: format!(
                    "{} · {} · {} · {}",
                    backup.name,
                    timestamp(&backup.created_at),
                    human_bytes(backup.size_bytes),
                    duration(backup.started_at, backup.finished_at)
                ),
            });
            points.push(Point {
                x: round(x + slot / 2.0),
                y: round(plot_bottom - secs / max_seconds * plot_height),
            });
        }
        let line = points
            .iter()
            .map(|p| format!("{},{}", p.x, p.y))
            .collect::<Vec<_>>()
            .join(" ");
        let ticks = [0.0, 0.5, 1.0];
        let size_labels = ticks
            .iter()
            .map(|f| AxisLabel {
                x: LEFT - 6.0,
                y: round(plot_bottom - f * plot_height + 4.0),
                text: human_bytes((max_size * f) as i64),
                anchor: "end",
            })
            .collect();
        let duration_labels = ticks
            .iter()
            .map(|f| AxisLabel {
                x: plot_right + 6.0,
                y: round(plot_bottom - f * plot_height + 4.0),
                text: format!("{:.0} s", max_seconds * f),
                anchor: "start",
            })
            .collect();
        let time_labels = time_labels(backups, plot_right, plot_bottom + 18.0);
        Some(Chart {
            width: WIDTH,
            height: HEIGHT,
            plot_left: LEFT,
            plot_right,
            plot_top: TOP,
            plot_bottom,
            bars,
            line,
            points,
            size_labels,
            duration_labels,
            time_labels,
        })
    }
}

/// The times of the first and last backup under the axis, as precise as their distance
/// needs to tell them apart (days apart: the date; hours: the minute; less: the second).
/// Backups of the same second get one label.
fn time_labels(backups: &[Backup], plot_right: f64, y: f64) -> Vec<AxisLabel> {
    let (Some(first), Some(last)) = (backups.first(), backups.last()) else {
        return Vec::new();
    };
    let (first, last) = (first.created_at, last.created_at);
    let span = last - first;
    let format = if span >= chrono::Duration::days(2) {
        "%Y-%m-%d"
    } else if span >= chrono::Duration::hours(1) {
        "%Y-%m-%d %H:%M"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    let (first, last) = (
        first.format(format).to_string(),
        last.format(format).to_string(),
    );
    if first == last {
        return vec![AxisLabel {
            x: LEFT,
            y,
            text: first,
            anchor: "start",
        }];
    }
    vec![
        AxisLabel {
            x: LEFT,
            y,
            text: first,
            anchor: "start",
        },
        AxisLabel {
            x: plot_right,
            y,
            text: last,
            anchor: "end",
        },
    ]
}

fn seconds_taken(backup: &Backup) -> f64 {
    match (backup.started_at, backup.finished_at) {
        (Some(s), Some(f)) => ((f - s).num_milliseconds().max(0) as f64) / 1000.0,
        _ => 0.0,
    }
}

/// One decimal is plenty for SVG coordinates and keeps the markup short.
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::NewBackup;
    use crate::domain::Scope;

    fn backup_at(at: &str) -> Backup {
        let new = NewBackup::full("b", &Scope::All, &["files"]);
        let at = chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").unwrap();
        Backup {
            id: new.id,
            name: new.name,
            kind: new.kind,
            parent_id: None,
            status: "succeeded".into(),
            scope: new.scope,
            sources: new.sources,
            storage_key: None,
            size_bytes: 10,
            sha256: None,
            key_id: None,
            file_count: 1,
            warnings: None,
            created_by: None,
            automatic: false,
            description: None,
            error_message: None,
            verify_state: "unverified".into(),
            verified_at: None,
            restore_count: 0,
            last_restored_at: None,
            created_at: at,
            started_at: Some(at),
            finished_at: Some(at),
            pinned: false,
            safety: false,
        }
    }

    fn labels(times: &[&str]) -> Vec<String> {
        let backups: Vec<Backup> = times.iter().map(|t| backup_at(t)).collect();
        Chart::of(&backups)
            .unwrap()
            .time_labels
            .into_iter()
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn the_time_axis_tells_its_ends_apart() {
        // Seconds apart on one day: both used to read `2026-11-21`.
        assert_eq!(
            labels(&["2026-11-21 09:58:01", "2026-11-21 09:58:40"]),
            ["2026-11-21 09:58:01", "2026-11-21 09:58:40"]
        );
        assert_eq!(
            labels(&["2026-11-21 09:58:01", "2026-11-21 17:02:00"]),
            ["2026-11-21 09:58", "2026-11-21 17:02"]
        );
        assert_eq!(
            labels(&["2026-11-01 09:58:01", "2026-11-21 17:02:00"]),
            ["2026-11-01", "2026-11-21"]
        );
        assert_eq!(labels(&["2026-11-21 09:58:01"]), ["2026-11-21 09:58:01"]);
    }
}
