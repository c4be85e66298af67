//! One publisher at a time, across processes and machines sharing a state store.
//!
//! Every writer of snapshots (`publish`, `publish --schedule`, `serve --publish-every`,
//! `advance`) publishes only while it holds the store's `publisher` lease
//! ([`store::StateStore::lead`]: a PostgreSQL session advisory lock, or a `flock` beside
//! SQLite's `state.db`), taken without waiting and released when the publish ends. The
//! lease is also what makes clean-up safe: [`snapshot::Snapshots::open`] removes every
//! snapshot directory the store does not list, which, while another process publishes
//! into the same data directory, is that publisher's work in progress. So the registry
//! is opened (and cleaned) only by the lease holder, and a serving node opens its local
//! snapshots while holding the lease (waiting for a publish in progress to end).
//!
//! The leader publishes through a [`store::Fenced`] store handle: registering the
//! snapshot (the commit point) is made on the lease's own PostgreSQL session (on SQLite,
//! after checking the lock file), so a leader whose connection broke mid-publish
//! registers nothing.
//!
//! A schedule is measured from the newest registered snapshot: a publish is due when
//! `generated_at + every <= now` (the emulator's service time). Every scheduled
//! publisher computes the same due time, so a takeover neither publishes twice nor
//! skips: when the leader dies mid-publish its lease is free at once and the snapshot it
//! was building is not registered, so the publish is still due and the next publisher
//! to retry (every `--lead-retry`) takes the lease and publishes.

use crate::args::PublishArgs;
use crate::datadir::DataDir;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use snapshot::{PublishReport, Snapshots};
use std::sync::Arc;
use std::time::Duration;
use store::{Fenced, Leadership, PUBLISHER};

/// What a turn of a publisher came to.
pub enum Turn {
    /// This process led and published.
    Published(PublishReport),
    /// No publish is due before this time (nothing was done).
    NotDue(DateTime<Utc>),
    /// Another process holds the publisher lease.
    OtherLeads,
}

/// The longest a scheduled publisher sleeps before looking at the registry again.
const MAX_IDLE: Duration = Duration::from_secs(60);

/// The time the next scheduled publish is due: the newest registered snapshot's time
/// plus `every`, or `None` (due now) when nothing is registered. Reads the registry
/// from the store only, so it needs no lease.
pub fn next_due(dir: &DataDir, every: Duration) -> Result<Option<DateTime<Utc>>> {
    let every = chrono::Duration::from_std(every).context("the schedule is too long")?;
    let newest = dir
        .store
        .snapshots()
        .context("cannot read the snapshot registry")?
        .into_iter()
        .map(|m| m.generated_at)
        .max();
    Ok(newest.map(|t| t + every))
}

/// The service's present: the wall clock, or the emulator's clock when time travel
/// moved it ahead (what a publish stamps its snapshot with).
fn service_now(dir: &DataDir) -> Result<DateTime<Utc>> {
    Ok(emulator::service_now(dir.store.as_ref(), Utc::now())?)
}

/// Tries to take the publisher lease (without waiting).
pub fn lead(dir: &DataDir) -> Result<Option<Arc<dyn Leadership>>> {
    Ok(dir
        .store
        .lead(PUBLISHER)
        .context("cannot ask the state store for the publisher lease")?
        .map(Arc::from))
}

/// `dir` with its store fenced by `lease`: registry changes need the lease held.
pub fn fenced(dir: &DataDir, lease: &Arc<dyn Leadership>) -> DataDir {
    let mut leading = dir.clone();
    leading.store = Arc::new(Fenced::new(dir.store.clone(), lease.clone()));
    leading
}

/// One turn of a publisher: take the lease, open the snapshots as the leader (removing
/// what interrupted publishes left), and publish, or with `every` only when a publish
/// is due. The lease is released on return.
///
/// `serving` is the registry of a node that also serves (`serve --publish-every`): it
/// publishes through that one (so the node serves the new snapshot at once and, over
/// object storage, keeps one cache), after removing under the lease what interrupted
/// publishes left in the data directory.
pub fn publish_turn(
    dir: &DataDir,
    p: &PublishArgs,
    public_base: &str,
    every: Option<Duration>,
    quiet: bool,
    serving: Option<&Snapshots>,
) -> Result<Turn> {
    let Some(lease) = lead(dir)? else {
        return Ok(Turn::OtherLeads);
    };
    let leading = fenced(dir, &lease);
    // Due is checked again under the lease: another publisher may have just published.
    if let Some(every) = every
        && let Some(due) = next_due(&leading, every)?
        && due > service_now(&leading)?
    {
        return Ok(Turn::NotDue(due));
    }
    let opened;
    let snapshots = match serving.map(|s| (s, s.refresh())) {
        Some((serving, Ok(_))) => {
            if serving.objects().is_none() {
                snapshot::remove_unpublished(&leading.path, leading.store.as_ref())
                    .context("cannot remove what interrupted publishes left")?;
            }
            serving
        }
        failed => {
            // A registered snapshot the serving registry cannot open (its files damaged
            // or gone) would fail every publish through it: a registry opened afresh
            // under the lease forgets such snapshots, as at start.
            if let Some((_, Err(e))) = failed {
                tracing::warn!(error = %e, "the serving registry cannot refresh; publishing through a registry opened afresh");
            }
            opened = crate::datadir::open_snapshots(&leading, p, public_base)?.0;
            &opened
        }
    };
    tracing::info!("this process leads the publishers: publishing");
    let report = crate::cmd::publish::publish(&leading, snapshots, p, quiet)?;
    Ok(Turn::Published(report))
}

/// A scheduled publisher's turns, and how long to pause between them.
pub struct Schedule {
    every: Duration,
    lead_retry: Duration,
    /// Failed turns in a row: a failing publish is retried after `lead_retry`, doubled
    /// at each failure up to `every` (a publish that always fails must not run hot).
    failures: u32,
}

impl Schedule {
    pub fn new(every: Duration, lead_retry: Duration) -> Schedule {
        Schedule {
            every,
            lead_retry,
            failures: 0,
        }
    }

    /// One turn ([`scheduled_turn`]), logged; returns it and the pause before the next.
    pub fn turn(
        &mut self,
        dir: &DataDir,
        p: &PublishArgs,
        public_base: &str,
        serving: Option<&Snapshots>,
    ) -> (Result<Turn>, Duration) {
        let (turn, mut pause) =
            scheduled_turn(dir, p, public_base, self.every, self.lead_retry, serving);
        if turn.is_err() {
            pause = self
                .lead_retry
                .saturating_mul(1 << self.failures.min(16))
                .min(self.every.max(self.lead_retry));
            self.failures += 1;
        } else {
            self.failures = 0;
        }
        log_turn(&turn, pause);
        (turn, pause)
    }
}

/// One turn of a scheduled publisher (`publish --schedule`, `serve --publish-every`):
/// when a publish is due, [`publish_turn`]; returns what happened and how long to
/// wait before the next turn (`lead_retry` while another process leads).
pub fn scheduled_turn(
    dir: &DataDir,
    p: &PublishArgs,
    public_base: &str,
    every: Duration,
    lead_retry: Duration,
    serving: Option<&Snapshots>,
) -> (Result<Turn>, Duration) {
    let due = next_due(dir, every).and_then(|due| Ok((due, service_now(dir)?)));
    let turn = match due {
        Err(e) => Err(e),
        Ok((Some(due), now)) if due > now => Ok(Turn::NotDue(due)),
        Ok(_) => publish_turn(dir, p, public_base, Some(every), true, serving),
    };
    let pause = match &turn {
        Ok(Turn::NotDue(due)) => service_now(dir)
            .ok()
            .and_then(|now| (*due - now).to_std().ok())
            .unwrap_or(lead_retry)
            .clamp(Duration::from_millis(100), MAX_IDLE),
        Ok(Turn::Published(_)) => Duration::ZERO,
        Ok(Turn::OtherLeads) | Err(_) => lead_retry,
    };
    (turn, pause)
}

/// Logs what a scheduled turn came to (`pause`: until the next turn).
fn log_turn(turn: &Result<Turn>, pause: Duration) {
    match turn {
        Ok(Turn::Published(r)) => {
            metrics::histogram!("posture_publish_seconds").record(r.seconds);
            tracing::info!(snapshot = %r.time_path, seq = r.seq, devices = r.devices, seconds = r.seconds, "published")
        }
        Ok(Turn::NotDue(due)) => {
            tracing::debug!(due = %due.to_rfc3339(), "no publish due yet")
        }
        Ok(Turn::OtherLeads) => tracing::info!(
            retry_seconds = pause.as_secs_f64(),
            "another publisher leads; waiting"
        ),
        Err(e) => tracing::error!(
            error = %format!("{e:#}"),
            retry_seconds = pause.as_secs_f64(),
            "scheduled publish failed; the previous snapshot keeps serving"
        ),
    }
}

/// `posture publish --schedule EVERY`: publishes whenever a publish is due, for ever,
/// while no other publisher leads.
pub fn run_schedule(
    dir: &DataDir,
    p: &PublishArgs,
    public_base: &str,
    every: Duration,
    lead_retry: Duration,
) -> Result<()> {
    eprintln!(
        "Publishing every {} (measured from the newest snapshot); retrying the publisher lease every {}",
        humanize(every),
        humanize(lead_retry)
    );
    let mut schedule = Schedule::new(every, lead_retry);
    loop {
        let (_, pause) = schedule.turn(dir, p, public_base, None);
        std::thread::sleep(pause);
    }
}

/// Opens the snapshots for a serving node. Local snapshots are opened while holding
/// the publisher lease (opening removes unregistered directories, which another
/// process may be publishing into), waiting for a publish in progress to end; a
/// registry in object storage needs no lease.
pub fn open_for_serving(
    dir: &DataDir,
    p: &PublishArgs,
    public_base: &str,
    lead_retry: Duration,
) -> Result<(Snapshots, Option<Arc<dyn export::BlobBackend>>)> {
    if p.snapshots.is_some() {
        return crate::datadir::open_snapshots(dir, p, public_base);
    }
    let mut told = false;
    loop {
        if let Some(lease) = lead(dir)? {
            let opened = crate::datadir::open_snapshots(dir, p, public_base);
            drop(lease);
            return opened;
        }
        if !told {
            eprintln!(
                "A publisher is publishing into this data directory: opening the snapshots once it is done (retrying every {})",
                humanize(lead_retry)
            );
            told = true;
        }
        std::thread::sleep(lead_retry);
    }
}

/// `5s`, `6h`, `1.5s`, for messages.
pub fn humanize(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 3600.0 && secs % 3600.0 == 0.0 {
        format!("{}h", secs / 3600.0)
    } else if secs >= 60.0 && secs % 60.0 == 0.0 {
        format!("{}m", secs / 60.0)
    } else {
        format!("{secs}s")
    }
}
