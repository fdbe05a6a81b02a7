//! File-descriptor budget for concurrent probes.
//!
//! Every case in flight holds up to [`FDS_PER_JOB`] sockets: one per backend,
//! plus a follow-up probe each. `--jobs 1000` under the common soft limit of
//! 1024 descriptors would fail with EMFILE half-way through a run, and those
//! failures would read as broker problems. So before a run starts, the soft
//! `RLIMIT_NOFILE` is raised towards the hard limit, and when even that is
//! not enough the concurrency is clamped to what fits, with a note saying so.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Sockets one case in flight may hold at once: two backends, each with a
/// follow-up probe.
pub const FDS_PER_JOB: u64 = 4;

/// Descriptors kept for everything else: stdio, report files, the runtime,
/// lab broker pipes.
pub const RESERVED_FDS: u64 = 64;

/// What the budget allows, and what the user should be told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobBudget {
    /// Jobs that fit within the descriptor limit (never 0).
    pub jobs: usize,
    /// One sentence when the soft limit was raised or the jobs clamped.
    pub note: Option<String>,
}

/// Fits `requested` concurrent jobs within this process's descriptor limit,
/// raising the soft limit when the hard limit allows it.
pub fn fit_jobs(requested: usize) -> JobBudget {
    let limit = getrlimit(Resource::Nofile);
    let budget = plan(requested, limit.current, limit.maximum);
    if let Some(raise_to) = budget.raise_to {
        let raised = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(raise_to),
                maximum: limit.maximum,
            },
        );
        if raised.is_err() {
            // The soft limit stays; fit within it instead.
            return finish(plan(requested, limit.current, limit.current), requested);
        }
    }
    finish(budget, requested)
}

fn finish(plan: Plan, requested: usize) -> JobBudget {
    let note = match (plan.raise_to, plan.jobs < requested) {
        (_, true) => Some(format!(
            "--jobs {requested} needs about {} file descriptors but RLIMIT_NOFILE allows {}; running {} jobs at once",
            need(requested),
            plan.usable,
            plan.jobs
        )),
        (Some(to), false) => Some(format!(
            "raised the soft RLIMIT_NOFILE to {to} for --jobs {requested}"
        )),
        (None, false) => None,
    };
    JobBudget {
        jobs: plan.jobs,
        note,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    jobs: usize,
    /// The new soft limit, when the current one is too low.
    raise_to: Option<u64>,
    /// The limit the jobs were fitted to.
    usable: u64,
}

fn need(jobs: usize) -> u64 {
    RESERVED_FDS.saturating_add((jobs as u64).saturating_mul(FDS_PER_JOB))
}

/// Pure arithmetic of the budget; `None` means unlimited.
fn plan(requested: usize, soft: Option<u64>, hard: Option<u64>) -> Plan {
    let requested = requested.max(1);
    let need = need(requested);
    let soft_value = soft.unwrap_or(u64::MAX);
    if need <= soft_value {
        return Plan {
            jobs: requested,
            raise_to: None,
            usable: soft_value,
        };
    }
    let hard_value = hard.unwrap_or(u64::MAX);
    let usable = need.min(hard_value);
    let fitting = usable.saturating_sub(RESERVED_FDS) / FDS_PER_JOB;
    let jobs = usize::try_from(fitting)
        .unwrap_or(usize::MAX)
        .clamp(1, requested);
    Plan {
        jobs,
        raise_to: (usable > soft_value).then_some(usable),
        usable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_fit_the_limits() {
        // (requested, soft, hard) -> (jobs, raise_to)
        type Row = (usize, Option<u64>, Option<u64>, usize, Option<u64>);
        let table: &[Row] = &[
            // Fits already: nothing changes.
            (8, Some(1024), Some(1024), 8, None),
            (240, Some(1024), Some(1024), 240, None),
            // 1000 jobs need 4064; the hard limit allows it: raise.
            (1000, Some(1024), Some(524_288), 1000, Some(4064)),
            // The hard limit is the soft limit: clamp to (1024-64)/4.
            (1000, Some(1024), Some(1024), 240, None),
            // Raise as far as the hard limit goes, then clamp.
            (1000, Some(1024), Some(2048), 496, Some(2048)),
            // Unlimited.
            (1_000_000, None, None, 1_000_000, None),
            (1000, Some(1024), None, 1000, Some(4064)),
            // A limit below the reserve still runs one job.
            (10, Some(16), Some(16), 1, None),
            // Zero is treated as one.
            (0, Some(1024), Some(1024), 1, None),
        ];
        for &(requested, soft, hard, jobs, raise_to) in table {
            let p = plan(requested, soft, hard);
            assert_eq!(
                (p.jobs, p.raise_to),
                (jobs, raise_to),
                "plan({requested}, {soft:?}, {hard:?})"
            );
        }
    }

    #[test]
    fn notes_say_what_changed() {
        let clamped = finish(plan(1000, Some(1024), Some(1024)), 1000);
        assert_eq!(clamped.jobs, 240);
        assert_eq!(
            clamped.note.as_deref(),
            Some(
                "--jobs 1000 needs about 4064 file descriptors but RLIMIT_NOFILE allows 1024; running 240 jobs at once"
            )
        );
        let raised = finish(plan(1000, Some(1024), Some(8192)), 1000);
        assert_eq!(raised.jobs, 1000);
        assert_eq!(
            raised.note.as_deref(),
            Some("raised the soft RLIMIT_NOFILE to 4064 for --jobs 1000")
        );
        assert_eq!(finish(plan(8, Some(1024), Some(1024)), 8).note, None);
    }

    #[test]
    fn the_process_limit_allows_what_fit_jobs_returns() {
        let budget = fit_jobs(1000);
        let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
        assert!(
            need(budget.jobs) <= soft.max(need(1)),
            "{budget:?} within {soft}"
        );
    }
}
