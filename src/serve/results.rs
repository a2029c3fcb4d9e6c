//! The desk's result pages, between the form's POST and the GET it redirects to
//! (Post/Redirect/Get: reloading a result does not post the form again, and the browser's
//! history holds a result URL, not a form). Each page is kept under an id of 128 random
//! bits from the system's CSPRNG, nothing derived from the request, in memory only and
//! bounded: the last `MAX_RESULTS`, for `MAX_AGE`, `MAX_BYTES` in all. A page is a start,
//! progress lines as a check goes and an end once it is done; a reader streams what is
//! there and then what comes (`tokio::sync::watch`), so a GET shows a running check's
//! progress as the POST's answer used to.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use super::auth::same;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::watch;

/// Results kept at most; the oldest goes first.
pub const MAX_RESULTS: usize = 64;
/// How long a result is kept: long enough to read it and download the report, short enough
/// that a customer's report does not stay on the service.
pub const MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// All results' pages together, at most (an explained 2 MiB log with its three downloads
/// is several MiB); the oldest go first, the newest is always kept.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// A result page as far as it has come. Its parts are shared buffers: every reader sends
/// the same bytes (a counted reference each), so many GETs of one large page cost no copy.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The head and the heading (and, for a check, the progress list's opening tag).
    pub start: Bytes,
    /// One `<li>` per step of a running check.
    pub lines: Vec<Bytes>,
    /// The rest of the page, once it is done.
    pub end: Option<Bytes>,
}

impl Page {
    /// A page whose start is `start`, with nothing more yet.
    pub fn starting(start: String) -> Page {
        Page {
            start: Bytes::from(start),
            ..Page::default()
        }
    }

    fn bytes(&self) -> usize {
        self.start.len()
            + self.lines.iter().map(Bytes::len).sum::<usize>()
            + self.end.as_ref().map_or(0, Bytes::len)
    }
}

/// One result, written by its check, read by any number of GETs.
#[derive(Debug)]
pub struct Entry(watch::Sender<Page>);

impl Entry {
    /// A progress line.
    pub fn line(&self, line: String) {
        self.0.send_modify(|p| p.lines.push(Bytes::from(line)));
    }

    /// The rest of the page: the result is complete.
    pub fn finish(&self, end: String) {
        self.0.send_modify(|p| p.end = Some(Bytes::from(end)));
    }

    /// The page so far, and then each change.
    pub fn watch(&self) -> watch::Receiver<Page> {
        self.0.subscribe()
    }

    fn bytes(&self) -> usize {
        self.0.borrow().bytes()
    }
}

/// The store.
#[derive(Debug)]
pub struct Results {
    kept: Mutex<VecDeque<Kept>>,
    random: SystemRandom,
    max_results: usize,
    max_age: Duration,
    max_bytes: usize,
}

#[derive(Debug)]
struct Kept {
    id: String,
    /// The key the browser that posted holds in a cookie: the id alone (which can end up in
    /// a proxy's log or a shared browser's history) does not open the result.
    key: String,
    added: Instant,
    entry: Arc<Entry>,
}

/// A new result's id and key, and the entry its check writes.
pub struct Added {
    pub id: String,
    pub key: String,
    pub entry: Arc<Entry>,
}

impl Default for Results {
    fn default() -> Results {
        Results::new(MAX_RESULTS, MAX_AGE, MAX_BYTES)
    }
}

impl Results {
    pub fn new(max_results: usize, max_age: Duration, max_bytes: usize) -> Results {
        Results {
            kept: Mutex::new(VecDeque::new()),
            random: SystemRandom::new(),
            max_results: max_results.max(1),
            max_age,
            max_bytes,
        }
    }

    /// 128 random bits in hex; `None` when the system has no randomness to give.
    fn random_hex(&self) -> Option<String> {
        let mut bits = [0u8; 16];
        self.random.fill(&mut bits).ok()?;
        Some(bits.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        }))
    }

    /// Keeps `page` under a new id and key; `None` when the system has no randomness.
    pub fn add(&self, page: Page, now: Instant) -> Option<Added> {
        let (id, key) = (self.random_hex()?, self.random_hex()?);
        let entry = Arc::new(Entry(watch::Sender::new(page)));
        let mut kept = self.kept.lock().ok()?;
        kept.push_back(Kept {
            id: id.clone(),
            key: key.clone(),
            added: now,
            entry: entry.clone(),
        });
        self.trim_kept(&mut kept, now);
        Some(Added { id, key, entry })
    }

    /// The result under `id` opened by `key`, unless it is unknown, expired, was pushed
    /// out, or the key is not its own (which looks the same from outside).
    pub fn get(&self, id: &str, key: &str, now: Instant) -> Option<Arc<Entry>> {
        let mut kept = self.kept.lock().ok()?;
        self.trim_kept(&mut kept, now);
        kept.iter()
            .find(|k| same(k.id.as_bytes(), id.as_bytes()) & same(k.key.as_bytes(), key.as_bytes()))
            .map(|k| k.entry.clone())
    }

    /// Drops what is past the bounds (a finished page has grown).
    pub fn trim(&self, now: Instant) {
        if let Ok(mut kept) = self.kept.lock() {
            self.trim_kept(&mut kept, now);
        }
    }

    fn trim_kept(&self, kept: &mut VecDeque<Kept>, now: Instant) {
        kept.retain(|k| now.saturating_duration_since(k.added) < self.max_age);
        while kept.len() > self.max_results {
            kept.pop_front();
        }
        let mut total: usize = kept.iter().map(|k| k.entry.bytes()).sum();
        while total > self.max_bytes && kept.len() > 1 {
            if let Some(k) = kept.pop_front() {
                total = total.saturating_sub(k.entry.bytes());
            }
        }
    }
}

/// Whether `id` has the shape of one: 32 lower-case hex digits.
pub fn well_formed(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str) -> Page {
        Page::starting(text.to_string())
    }

    fn open(r: &Results, a: &Added, now: Instant) -> bool {
        r.get(&a.id, &a.key, now).is_some()
    }

    #[test]
    fn ids_and_keys_are_random_and_well_formed() {
        let r = Results::default();
        let now = Instant::now();
        let a = r.add(page("a"), now).expect("added");
        let b = r.add(page("b"), now).expect("added");
        for x in [&a.id, &a.key, &b.id, &b.key] {
            assert!(well_formed(x), "{x}");
        }
        assert!(a.id != b.id && a.key != b.key && a.id != a.key);
        assert!(!well_formed("0123") && !well_formed(&a.id.to_uppercase()));
        let got = r.get(&a.id, &a.key, now).expect("kept");
        assert_eq!(got.watch().borrow().start, "a");
        // The id alone, or with another result's key, opens nothing.
        assert!(r.get(&a.id, "", now).is_none());
        assert!(r.get(&a.id, &b.key, now).is_none());
        assert!(r.get(&a.id, &a.key[..31], now).is_none());
    }

    #[test]
    fn results_are_bounded_by_count_age_and_size() {
        let r = Results::new(3, Duration::from_secs(600), 100);
        let t0 = Instant::now();
        let added: Vec<Added> = (0..4)
            .map(|i| {
                r.add(page("x"), t0 + Duration::from_secs(i))
                    .expect("added")
            })
            .collect();
        let at = t0 + Duration::from_secs(5);
        assert!(!open(&r, &added[0], at), "the oldest is pushed out");
        assert!(added[1..].iter().all(|a| open(&r, a, at)));
        // Age: 600 s after it was added, the second is gone, the last is not.
        let at = t0 + Duration::from_secs(601);
        assert!(!open(&r, &added[1], at));
        assert!(open(&r, &added[3], at));
        // Size: a page that grows past the budget pushes the older ones out, not itself.
        let big = r.add(page("y"), at).expect("added");
        big.entry.finish("z".repeat(150));
        r.trim(at);
        assert!(!open(&r, &added[3], at));
        assert!(open(&r, &big, at));
    }
}
