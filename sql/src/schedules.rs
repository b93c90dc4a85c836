//! Recurring schedules: a calendar (cron syntax in a time zone) that fires one VM action.
//!
//! The calendar is computed here, next to the rows it fills in, so that the XML-RPC backend
//! can refuse a malformed schedule (fault 4 naming the field) and every scheduler process
//! fires the same occurrences. Firing is one transaction per batch of due schedules: the
//! job is recorded and `next_run` advanced together, so a schedule never fires twice for
//! one occurrence, even with several scheduler processes on one PostgreSQL.

use std::str::FromStr;

use chrono::TimeZone;

use crate::validate::shown;

use crate::{Caller, JobAction, MissedRuns, Permission, Store, StoreError, validate};

/// How late a run may start and still count as on time rather than missed, in seconds.
pub const MISSED_AFTER_SECS: i64 = 60;

/// A parsed calendar: cron expression (5 fields, or 6 with seconds first) and time zone.
#[derive(Clone, Debug)]
pub struct Calendar {
    cron: croner::Cron,
    zone: chrono_tz::Tz,
}

impl Calendar {
    /// Parse and check a calendar; the errors name the field.
    pub fn parse(cron: &str, timezone: &str) -> Result<Calendar, StoreError> {
        let parsed = croner::Cron::from_str(cron).map_err(|e| {
            StoreError::invalid("cron", format!("{e} in {:?}; use 5 fields (minute hour day month weekday) or 6 with seconds first", shown(cron)))
        })?;
        let zone = chrono_tz::Tz::from_str(timezone).map_err(|_| {
            StoreError::invalid(
                "timezone",
                format!(
                    "{:?} is not an IANA time zone such as UTC or Europe/Berlin",
                    shown(timezone)
                ),
            )
        })?;
        let calendar = Calendar { cron: parsed, zone };
        if calendar.next_after(crate::now()).is_none() {
            return Err(StoreError::invalid(
                "cron",
                format!("{:?} never fires", shown(cron)),
            ));
        }
        Ok(calendar)
    }

    /// The first occurrence strictly after `after` (Unix seconds).
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let start = self.zone.timestamp_opt(after, 0).single()?;
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|t| t.timestamp())
    }
}

/// A schedule as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Row id.
    pub id: i32,
    /// Unique name.
    pub name: String,
    /// The VM action (`start`, `shutdown`, `update`, …).
    pub action: String,
    /// The VM.
    pub vm_id: i32,
    /// Action parameters (`memory_kb=… vcpus=…` for `update`).
    pub params: String,
    /// Cron expression.
    pub cron: String,
    /// IANA time zone the expression is read in.
    pub timezone: String,
    /// What to do about runs missed while no scheduler ran.
    pub missed: MissedRuns,
    /// No runs after this time.
    pub ends_at: Option<i64>,
    /// Runs left, when limited.
    pub remaining: Option<i32>,
    /// The next run, if any is left.
    pub next_run: Option<i64>,
    /// The last time it fired.
    pub last_run: Option<i64>,
    /// Whether it fires.
    pub enabled: bool,
    /// Who created it.
    pub created_by: Option<i32>,
}

/// What `schedule.create` takes.
#[derive(Clone, Debug)]
pub struct NewSchedule {
    /// Unique name.
    pub name: String,
    /// The VM action.
    pub action: String,
    /// The VM.
    pub vm_id: i32,
    /// Action parameters.
    pub params: String,
    /// Cron expression.
    pub cron: String,
    /// Time zone (default UTC).
    pub timezone: String,
    /// Missed-run policy.
    pub missed: MissedRuns,
    /// End date.
    pub ends_at: Option<i64>,
    /// Number of runs.
    pub count: Option<i32>,
}

/// What `schedule.update` may change; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct ScheduleUpdate {
    /// New cron expression.
    pub cron: Option<String>,
    /// New time zone.
    pub timezone: Option<String>,
    /// New missed-run policy.
    pub missed: Option<MissedRuns>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New end date (0 removes it).
    pub ends_at: Option<i64>,
    /// New number of runs left (0 or less removes the limit).
    pub count: Option<i32>,
}

/// The permission a VM action needs.
pub(crate) fn permission_for(action: &str) -> Permission {
    // A module's action (`<module>.<action>`) may change the VM.
    if action == "update" || action == "revert" || action.contains('.') {
        Permission::Modify
    } else {
        Permission::Power
    }
}

/// Check an action a schedule or trigger may run and its parameters; returns the
/// parameters in canonical form.
/// A module's action (`<module>.<action>`) passes here by its form; the API checks
/// that an enabled module provides it.
pub(crate) fn check_action(action: &str, params: &str) -> Result<String, StoreError> {
    let by_module = crate::job_action::ModuleAction::new(action).is_some();
    if !JobAction::SCHEDULABLE.contains(&action) && !by_module {
        return Err(StoreError::invalid(
            "action",
            format!(
                "must be one of {} or a module's action (<module>.<action>, module.list); got {:?}",
                JobAction::SCHEDULABLE.join(", "),
                shown(action)
            ),
        ));
    }
    Ok(JobAction::parse(action, params)?.params())
}

/// How many coming runs [`check_floor`] looks at.
const FLOOR_LOOKAHEAD: usize = 500;

/// Refuse a calendar whose runs come closer together than the `schedule_min_interval_secs`
/// option, unless the caller is an admin: a user's schedule must not reboot a VM every
/// second. Checks the gaps between the next runs (cron gaps repeat within days).
fn check_floor(actor: &Caller, calendar: &Calendar, floor: i64) -> Result<(), StoreError> {
    if actor.has_role(crate::Role::Admin) {
        return Ok(());
    }
    let mut previous = match calendar.next_after(crate::now()) {
        Some(first) => first,
        None => return Ok(()),
    };
    for _ in 0..FLOOR_LOOKAHEAD {
        let Some(next) = calendar.next_after(previous) else {
            return Ok(());
        };
        if next - previous < floor {
            return Err(StoreError::invalid(
                "cron",
                format!(
                    "runs {} s apart; schedules run at most every {floor} s (global option schedule_min_interval_secs; admins may go lower)",
                    next - previous
                ),
            ));
        }
        previous = next;
    }
    Ok(())
}

impl Store {
    /// Create a schedule on a VM the caller may act on; returns its id.
    pub fn create_schedule(&self, actor: &Caller, new: &NewSchedule) -> Result<i32, StoreError> {
        validate::name("name", &new.name)?;
        let params = check_action(&new.action, &new.params)?;
        let calendar = Calendar::parse(&new.cron, &new.timezone)?;
        check_floor(
            actor,
            &calendar,
            self.global_options()?.schedule_min_interval_secs,
        )?;
        if let Some(count) = new.count {
            validate::range("count", count, 1, i32::MAX)?;
        }
        let now = crate::now();
        if new.ends_at.is_some_and(|end| end <= now) {
            return Err(StoreError::invalid("ends", "must be in the future"));
        }
        let first = calendar
            .next_after(now)
            .filter(|t| new.ends_at.is_none_or(|end| *t <= end));
        let new = NewSchedule {
            params,
            ..new.clone()
        };
        self.write(|conn| {
            crate::ops::schedules::create(conn, actor, &new, first, permission_for(&new.action))
        })
    }

    /// The schedules the caller may see (their own; all for operators and admins).
    pub fn list_schedules(&self, actor: &Caller) -> Result<Vec<Schedule>, StoreError> {
        self.read(|conn| crate::ops::schedules::list(conn, actor))
    }

    /// Change a schedule; the next run is computed anew when the calendar changes.
    pub fn update_schedule(
        &self,
        actor: &Caller,
        id: i32,
        update: &ScheduleUpdate,
    ) -> Result<(), StoreError> {
        if let Some(count) = update.count.filter(|c| *c > 0) {
            validate::range("count", count, 1, i32::MAX)?;
        }
        let current = self.read(|conn| crate::ops::schedules::get_visible(conn, actor, id))?;
        let cron = update.cron.clone().unwrap_or(current.cron.clone());
        let timezone = update.timezone.clone().unwrap_or(current.timezone.clone());
        let calendar = Calendar::parse(&cron, &timezone)?;
        check_floor(
            actor,
            &calendar,
            self.global_options()?.schedule_min_interval_secs,
        )?;
        let ends_at = match update.ends_at {
            Some(0) => None,
            Some(end) if end <= crate::now() => {
                return Err(StoreError::invalid("ends", "must be in the future"));
            }
            Some(end) => Some(end),
            None => current.ends_at,
        };
        let next_run = calendar
            .next_after(crate::now())
            .filter(|t| ends_at.is_none_or(|end| *t <= end));
        self.write(|conn| {
            crate::ops::schedules::update(
                conn, actor, id, update, &cron, &timezone, ends_at, next_run,
            )
        })
    }

    /// Delete a schedule (its jobs stay).
    pub fn delete_schedule(&self, actor: &Caller, id: i32) -> Result<(), StoreError> {
        self.write(|conn| crate::ops::schedules::delete(conn, actor, id))
    }

    /// Fire every enabled schedule whose next run has come: record its job, advance it.
    /// Works in rounds of one transaction each, until nothing is due. Returns how many
    /// jobs were recorded. Safe to call from several processes at once.
    pub fn fire_due_schedules(&self, now: i64) -> Result<usize, StoreError> {
        let mut recorded = 0;
        loop {
            let (looked_at, fired) = crate::claim::due_schedules(self, now)?;
            recorded += fired;
            if fired > 0 {
                self.jobs_recorded();
            }
            if looked_at < crate::claim::SCHEDULES_PER_ROUND {
                return Ok(recorded);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendars_parse_and_step() {
        let daily = Calendar::parse("30 2 * * *", "UTC").unwrap();
        // 2026-01-01T00:00:00Z = 1767225600
        assert_eq!(
            daily.next_after(1_767_225_600),
            Some(1_767_225_600 + 2 * 3600 + 30 * 60)
        );
        let berlin = Calendar::parse("0 9 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            berlin.next_after(1_767_225_600),
            Some(1_767_225_600 + 8 * 3600)
        );
        let seconds = Calendar::parse("*/10 * * * * *", "UTC").unwrap();
        assert_eq!(seconds.next_after(1_767_225_600), Some(1_767_225_610));
        assert!(
            matches!(Calendar::parse("61 * * * *", "UTC"), Err(StoreError::Invalid { field, .. }) if field == "cron")
        );
        assert!(
            matches!(Calendar::parse("* * * * *", "Mars/Olympus"), Err(StoreError::Invalid { field, .. }) if field == "timezone")
        );
    }

    #[test]
    fn actions_and_params_are_checked() {
        assert_eq!(
            check_action("update", "vcpus=2  memory_kb=1024").unwrap(),
            "memory_kb=1024 vcpus=2"
        );
        assert!(check_action("update", "").is_err());
        assert!(check_action("update", "cpus=2").is_err());
        assert!(check_action("pause", "x=1").is_err());
        assert!(check_action("migrate", "").is_err());
    }
}
