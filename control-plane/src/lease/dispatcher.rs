//! Parked long-polls wait here without touching the database. A job that becomes
//! claimable wakes one parked robot of its tenant that has every label the job needs
//! (oldest parked first), not all of them: the herd stays asleep.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

use super::Cancels;
use crate::events::{Bus, Message};

/// A job that robots may claim now, or at `run_after`.
#[derive(Debug, Clone)]
pub struct JobReady {
    /// Its tenant: only that tenant's robots are woken.
    pub tenant_id: String,
    /// Its labels: only robots with all of them are woken.
    pub labels: Vec<String>,
    /// Not claimable before (Unix ms).
    pub run_after: i64,
}

struct Waiter {
    id: u64,
    tenant_id: String,
    labels: Vec<String>,
    wake: oneshot::Sender<JobReady>,
}

/// The parked long-polls of this process.
pub struct Dispatcher {
    waiters: Mutex<VecDeque<Waiter>>,
    next_id: AtomicU64,
    bus: Bus,
    /// Told when this process leases a job, so that a reaper that knew of no lease
    /// wakes up when the new one expires.
    pub(super) leased: Notify,
    /// The earliest `run_after` (Unix ms) of a job announced too far ahead for a timer;
    /// `i64::MAX` when none. The sweep takes it and looks for jobs then.
    pub(super) later: AtomicI64,
    /// Told when `later` moves earlier.
    pub(super) later_changed: Notify,
    /// Heartbeat polls waiting for their job's cancel.
    cancels: Cancels,
}

/// Longest delay a wake-up is scheduled in memory; later jobs are left to the sweep.
const MAX_SCHEDULED: Duration = Duration::from_secs(120);

impl Dispatcher {
    /// A dispatcher that wakes robots on other replicas through `bus`.
    pub fn new(bus: Bus) -> Dispatcher {
        Dispatcher {
            waiters: Mutex::default(),
            next_id: AtomicU64::default(),
            bus,
            leased: Notify::new(),
            later: AtomicI64::new(i64::MAX),
            later_changed: Notify::new(),
            cancels: Cancels::default(),
        }
    }

    /// The heartbeat polls of this process waiting for a cancel.
    pub fn cancels(&self) -> &Cancels {
        &self.cancels
    }

    /// Announces that a running job's cancel was stored: wakes its robot's heartbeat
    /// poll here, and on the other replicas through the bus.
    pub fn job_cancelled(&self, job_id: i64) {
        self.cancels.cancelled(job_id);
        if self.bus.is_shared() {
            let bus = self.bus.clone();
            tokio::spawn(async move {
                bus.publish(Message::CancelRequested { job_id }).await;
            });
        }
    }

    fn waiters(&self) -> MutexGuard<'_, VecDeque<Waiter>> {
        // A panic while holding the lock cannot leave the queue inconsistent (every
        // change is a single push or remove), so a poisoned lock is still usable.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Parks a robot of `tenant_id` with `labels` until a job it can take appears. The
    /// robot stops being parked when the returned `Parked` is dropped.
    pub fn park(self: &Arc<Self>, tenant_id: &str, labels: &[String]) -> Parked {
        let (wake, woken) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.waiters().push_back(Waiter {
            id,
            tenant_id: tenant_id.to_owned(),
            labels: labels.to_vec(),
            wake,
        });
        Parked {
            id,
            woken,
            dispatcher: Arc::clone(self),
        }
    }

    /// How many robots are parked here.
    pub fn parked(&self) -> usize {
        self.waiters().len()
    }

    /// Announces a job robots may claim now: wakes one matching robot parked here, or,
    /// when none is and replicas share a bus, tells the other replicas (each wakes
    /// at most one of its own).
    pub fn job_ready(&self, ready: JobReady) {
        if self.wake_local(ready.clone()) || !self.bus.is_shared() {
            return;
        }
        let bus = self.bus.clone();
        tokio::spawn(async move {
            let JobReady {
                tenant_id,
                labels,
                run_after,
            } = ready;
            bus.publish(Message::JobReady {
                tenant_id,
                labels,
                run_after,
            })
            .await;
        });
    }

    /// The bus this dispatcher announces through.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Announces a job that becomes claimable at `ready.run_after`: now, or from a timer
    /// when that is soon; later ones are left to the sweep, which is told when.
    pub fn job_ready_at(self: &Arc<Self>, ready: JobReady) {
        self.when_due(ready, Dispatcher::job_ready);
    }

    /// Wakes a robot parked here for a job another replica announced, when its
    /// `run_after` comes (never announced on: the other replica did that).
    pub fn wake_local_at(self: &Arc<Self>, ready: JobReady) {
        self.when_due(ready, |dispatcher, ready| {
            dispatcher.wake_local(ready);
        });
    }

    /// Runs `act` for the job now when it is due, from a timer when it is due soon, and
    /// otherwise tells the sweep when it comes due.
    fn when_due(self: &Arc<Self>, ready: JobReady, act: fn(&Dispatcher, JobReady)) {
        let delay = ready.run_after - crate::db::now_ms();
        if delay <= 0 {
            act(self, ready);
        } else if let Ok(delay) = u64::try_from(delay)
            && Duration::from_millis(delay) <= MAX_SCHEDULED
        {
            let dispatcher = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                act(&dispatcher, ready);
            });
        } else {
            self.ready_later(ready.run_after);
        }
    }

    /// Tells the sweep that a job becomes claimable at `run_after`, too far ahead for a
    /// timer of its own.
    pub(super) fn ready_later(&self, run_after: i64) {
        if self.later.fetch_min(run_after, Ordering::AcqRel) > run_after {
            self.later_changed.notify_one();
        }
    }

    /// Tells the reaper that this process just leased jobs.
    pub fn leased(&self) {
        self.leased.notify_one();
    }

    /// Announces many jobs at once (a bulk enqueue): wakes at most one parked robot per
    /// job, and stops looking for a kind of job (tenant and labels) as soon as no parked
    /// robot takes one, so a thousand jobs cost a thousand wake-ups at most, not a
    /// thousand scans of every parked robot. Later jobs get one timer per distinct time.
    pub fn jobs_ready(self: &Arc<Self>, jobs: Vec<JobReady>) {
        let now = crate::db::now_ms();
        let (due, later): (Vec<JobReady>, Vec<JobReady>) =
            jobs.into_iter().partition(|job| job.run_after <= now);
        self.wake_many(due);
        let mut by_time: std::collections::BTreeMap<i64, Vec<JobReady>> = Default::default();
        for job in later {
            by_time.entry(job.run_after).or_default().push(job);
        }
        for (run_after, jobs) in by_time {
            if let Ok(delay) = u64::try_from(run_after - now)
                && Duration::from_millis(delay) <= MAX_SCHEDULED
            {
                let dispatcher = Arc::clone(self);
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    dispatcher.wake_many(jobs);
                });
            } else {
                self.ready_later(run_after);
            }
        }
    }

    fn wake_many(&self, jobs: Vec<JobReady>) {
        // Once no robot here wants a kind of job (tenant and labels), the rest of that
        // kind skip the scan; with replicas, they are announced to the others instead.
        let mut unwanted: Vec<(String, Vec<String>)> = Vec::new();
        let mut elsewhere = Vec::new();
        for job in jobs {
            let kind = (job.tenant_id.clone(), job.labels.clone());
            if unwanted.contains(&kind) {
                elsewhere.push(job);
                continue;
            }
            if !self.wake_local(job.clone()) {
                unwanted.push(kind);
                elsewhere.push(job);
            }
        }
        if elsewhere.is_empty() || !self.bus.is_shared() {
            return;
        }
        let bus = self.bus.clone();
        tokio::spawn(async move {
            for JobReady {
                tenant_id,
                labels,
                run_after,
            } in elsewhere
            {
                bus.publish(Message::JobReady {
                    tenant_id,
                    labels,
                    run_after,
                })
                .await;
            }
        });
    }

    /// Wakes the longest-parked robot here that may take the job; false when none.
    pub fn wake_local(&self, ready: JobReady) -> bool {
        let mut ready = ready;
        let mut waiters = self.waiters();
        loop {
            let Some(position) = waiters.iter().position(|w| {
                w.tenant_id == ready.tenant_id && ready.labels.iter().all(|l| w.labels.contains(l))
            }) else {
                return false;
            };
            let Some(waiter) = waiters.remove(position) else {
                return false;
            };
            // A waiter whose request ended meanwhile cannot take it: try the next one.
            match waiter.wake.send(ready) {
                Ok(()) => return true,
                Err(back) => ready = back,
            }
        }
    }

    fn leave(&self, id: u64) {
        self.waiters().retain(|w| w.id != id);
    }
}

/// A parked long-poll; dropping it unparks the robot.
pub struct Parked {
    id: u64,
    woken: oneshot::Receiver<JobReady>,
    dispatcher: Arc<Dispatcher>,
}

impl Parked {
    /// Waits for a wake-up; returns the job that caused it.
    pub async fn woken(&mut self) -> Option<JobReady> {
        (&mut self.woken).await.ok()
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        self.dispatcher.leave(self.id);
        // Woken just as the robot stopped waiting (it got a job another way, or its
        // wait ended): hand the wake-up on so the job is not left for the sweep.
        if let Ok(ready) = self.woken.try_recv() {
            self.dispatcher.wake_local(ready);
        }
    }
}
