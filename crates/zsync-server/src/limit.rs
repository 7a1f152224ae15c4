//! Failed-login limiting, per user name and per client address, in fixed
//! windows. In process memory for now: with several servers each counts
//! on its own (issue 10 moves the counters into the database).
//!
//! Keys are the names as sent, whether or not such a user exists, so the
//! limiter's answers say nothing about which accounts exist.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Beyond this many tracked keys the oldest windows are forgotten, so a
/// flood of made-up names cannot exhaust memory.
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Window {
    start: Instant,
    failures: u32,
}

pub struct LoginLimiter {
    per_user: u32,
    per_address: u32,
    window: Duration,
    counts: Mutex<HashMap<Key, Window>>,
}

impl LoginLimiter {
    pub fn new(per_user: u32, per_address: u32, window: Duration) -> Self {
        Self {
            per_user,
            per_address,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    fn keys(user: &str, address: Option<IpAddr>) -> impl Iterator<Item = Key> {
        std::iter::once(Key::User(user.to_owned())).chain(address.map(Key::Address))
    }

    fn limit(&self, key: &Key) -> u32 {
        match key {
            Key::User(_) => self.per_user,
            Key::Address(_) => self.per_address,
        }
    }

    /// `Some(wait)` if logins as `user` or from `address` are blocked for
    /// another `wait`.
    pub fn blocked(&self, user: &str, address: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        Self::keys(user, address)
            .filter_map(|key| {
                let w = counts.get(&key)?;
                let elapsed = now.duration_since(w.start);
                (elapsed < self.window && w.failures >= self.limit(&key))
                    .then(|| self.window - elapsed)
            })
            .max()
    }

    pub fn failed(&self, user: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= MAX_KEYS {
            counts.retain(|_, w| now.duration_since(w.start) < self.window);
            while counts.len() >= MAX_KEYS {
                let oldest = counts
                    .iter()
                    .min_by_key(|(_, w)| w.start)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => counts.remove(&k),
                    None => break,
                };
            }
        }
        for key in Self::keys(user, address) {
            let w = counts.entry(key).or_insert(Window {
                start: now,
                failures: 0,
            });
            if now.duration_since(w.start) >= self.window {
                *w = Window {
                    start: now,
                    failures: 0,
                };
            }
            w.failures = w.failures.saturating_add(1);
        }
    }

    /// A correct password clears the user's count (not the address's: one
    /// valid account must not launder guesses at others).
    pub fn succeeded(&self, user: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.remove(&Key::User(user.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_per_user_and_address() {
        let limiter = LoginLimiter::new(2, 3, Duration::from_secs(60));
        let a: IpAddr = [10, 0, 0, 1].into();
        assert!(limiter.blocked("bob", Some(a)).is_none());
        limiter.failed("bob", Some(a));
        limiter.failed("bob", Some(a));
        assert!(limiter.blocked("bob", None).is_some());
        assert!(
            limiter
                .blocked("carol", Some([10, 0, 0, 2].into()))
                .is_none()
        );
        // The address has 2 failures of 3.
        assert!(limiter.blocked("carol", Some(a)).is_none());
        limiter.failed("carol", Some(a));
        assert!(limiter.blocked("dave", Some(a)).is_some());
        limiter.succeeded("bob");
        assert!(limiter.blocked("bob", None).is_none());
    }

    #[test]
    fn windows_expire() {
        let limiter = LoginLimiter::new(1, 1, Duration::from_millis(20));
        limiter.failed("bob", None);
        assert!(limiter.blocked("bob", None).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.blocked("bob", None).is_none());
    }
}
