//! How long a piece of work waited in the queue and how long it ran, apart: a backup that
//! took 16 s from the click but ran for 0.4 s of it must not read "Took 0 s". Times from
//! rows (microseconds), shown to a tenth of a second below ten seconds.

use chrono::NaiveDateTime;

use super::text::duration_text;

/// The two spans of one task or backup, as text (`ran` empty when it never started).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timing {
    /// From being asked for to starting (or to its end, if it never started).
    pub queued: String,
    /// From starting to its end.
    pub ran: String,
}

impl Timing {
    /// The spans of work created at `created`, started and finished at the times given
    /// (unset while it has not). A span still going on says since when, which stays true
    /// on a page left open (a count of seconds would not).
    pub fn of(
        created: NaiveDateTime,
        started: Option<NaiveDateTime>,
        finished: Option<NaiveDateTime>,
    ) -> Timing {
        let queued = match (started, finished) {
            (Some(at), _) | (None, Some(at)) => span_text(at - created),
            (None, None) => since(created),
        };
        let ran = match (started, finished) {
            (Some(start), Some(end)) => span_text(end - start),
            (Some(start), None) => since(start),
            (None, _) => String::new(),
        };
        Timing { queued, ran }
    }
}

/// `since 09:58:07 UTC`.
fn since(at: NaiveDateTime) -> String {
    format!("since {} UTC", at.format("%H:%M:%S"))
}

/// `0.4 s`, `9.9 s`, `12 s`, `1 min 05 s`.
pub fn span_text(span: chrono::Duration) -> String {
    let micros = span.num_microseconds().unwrap_or(i64::MAX).max(0);
    if micros < 10_000_000 {
        format!("{:.1} s", micros as f64 / 1e6)
    } else {
        duration_text((micros + 500_000) / 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn waiting_and_running_are_told_apart() {
        let click = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let started = click + Duration::milliseconds(15_600);
        let ended = started + Duration::milliseconds(400);
        let done = Timing::of(click, Some(started), Some(ended));
        assert_eq!(done.queued, "16 s");
        assert_eq!(done.ran, "0.4 s");
        let running = Timing::of(click, Some(started), None);
        assert_eq!(running.queued, "16 s");
        assert_eq!(running.ran, "since 08:00:15 UTC");
        let waiting = Timing::of(click, None, None);
        assert_eq!(
            waiting,
            Timing {
                queued: "since 08:00:00 UTC".into(),
                ran: String::new()
            }
        );
        let cancelled_while_queued = Timing::of(click, None, Some(click + Duration::seconds(3)));
        assert_eq!(cancelled_while_queued.queued, "3.0 s");
        assert_eq!(span_text(Duration::milliseconds(-5)), "0.0 s");
        assert_eq!(span_text(Duration::milliseconds(9_949)), "9.9 s");
        assert_eq!(span_text(Duration::seconds(65)), "1 min 05 s");
    }
}
