//! The life of a backup record or a task: `pending → running → success | failed | cancelled`.
//! Only the transitions listed in `can_become` are legal; the db refuses the others so a
//! finished record can never be silently reopened.

use super::text_enum;

text_enum!(
    /// State of a backup record or a task.
    Status {
        Pending => "pending",
        Running => "running",
        Succeeded => "success",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

impl Status {
    pub fn is_finished(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }

    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Pending, Running)
                | (Pending, Failed)
                | (Pending, Cancelled)
                | (Running, Succeeded)
                | (Running, Failed)
                | (Running, Cancelled)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;

    #[test]
    fn finished_states_are_final() {
        for done in [Succeeded, Failed, Cancelled] {
            assert!(done.is_finished());
            for next in super::Status::ALL {
                assert!(!done.can_become(*next), "{done} -> {next}");
            }
        }
        assert!(Pending.can_become(Running));
        assert!(Running.can_become(Succeeded));
        assert!(!Pending.can_become(Succeeded));
    }

    #[test]
    fn success_is_stored_as_the_design_names_it() {
        assert_eq!(Succeeded.as_str(), "success");
    }
}
