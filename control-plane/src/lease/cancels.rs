//! Cancel requests on their way to robots. A robot running a job keeps a heartbeat
//! long-poll open (`?wait_ms=`); the poll waits here, without touching the database,
//! until someone asks to cancel that job or its wait ends. The cancel endpoint wakes the
//! polls of this process and, through the bus, those of the other replicas, so the
//! robot learns of the cancel within a round trip wherever its poll is parked. A wake-up
//! lost on the way (Redis down) only delays the cancel to the next heartbeat, which
//! reads the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

type Watchers = Arc<Mutex<HashMap<i64, Arc<Notify>>>>;

/// The jobs whose heartbeat polls wait in this process.
#[derive(Default)]
pub struct Cancels {
    watchers: Watchers,
}

fn lock(watchers: &Watchers) -> MutexGuard<'_, HashMap<i64, Arc<Notify>>> {
    // Every change is one insert or remove: a poisoned lock is still consistent.
    watchers.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cancels {
    /// Starts watching `job_id` for a cancel; stops when the watch is dropped.
    pub fn watch(&self, job_id: i64) -> CancelWatch {
        let notify = lock(&self.watchers)
            .entry(job_id)
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone();
        CancelWatch {
            job_id,
            notify,
            watchers: self.watchers.clone(),
        }
    }

    /// Wakes every watch of `job_id` in this process.
    pub fn cancelled(&self, job_id: i64) {
        // Under the lock and without a copy of the `Arc`: a copy held outside it would
        // make a watch dropped meanwhile count three references and leave its entry.
        if let Some(notify) = lock(&self.watchers).get(&job_id) {
            notify.notify_waiters();
        }
    }

    /// How many jobs are watched here.
    pub fn watched(&self) -> usize {
        lock(&self.watchers).len()
    }
}

/// A heartbeat poll waiting for its job's cancel.
pub struct CancelWatch {
    job_id: i64,
    notify: Arc<Notify>,
    watchers: Watchers,
}

impl CancelWatch {
    /// Completes when the job's cancel is announced. It counts from when it is called,
    /// not from when it is first awaited (`Notify::notified` gets every
    /// `notify_waiters` from its creation): call it before reading whether the job was
    /// cancelled already, and a cancel between the read and the wait still wakes it.
    pub fn cancelled(&self) -> Notified<'_> {
        self.notify.notified()
    }
}

impl Drop for CancelWatch {
    fn drop(&mut self) {
        let mut watchers = lock(&self.watchers);
        // The map's reference and this one: no other poll waits on the job.
        if Arc::strong_count(&self.notify) <= 2 {
            watchers.remove(&self.job_id);
        }
    }
}
