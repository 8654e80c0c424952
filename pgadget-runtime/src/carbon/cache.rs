//! The on-disk memory of an earlier geolocation answer: `<cache dir>/country.json`.
//!
//! It holds the code the service answered (a country pgadget does not know included, so that
//! it is not asked again by every process), when, and which service it was, with credentials
//! and query values redacted (see `service`). A later process charges the same country
//! without a request, as long as the answer is younger than 30 days (`MAX_AGE_DAYS`; people
//! move, laptops travel) and came from the service configured now.
//!
//! The file is owner-only (0600) in an owner-only directory, written to a temporary file
//! created exclusively (a link planted at any name is never followed) and renamed over the old
//! one, so a reader sees the old answer or the new one, never half of one.

use super::service::redact;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) use crate::cache_dir::cache_dir;

/// How long a cached answer is used.
pub(crate) const MAX_AGE_DAYS: i64 = 30;

/// The file name inside the cache directory.
pub(crate) const FILE_NAME: &str = "country.json";

/// What `country.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedCountry {
    /// What the service answered, upper case: an ISO 3166 alpha-2 code, possibly one pgadget
    /// does not know.
    pub country: String,
    /// When the answer was received.
    pub saved: DateTime<Utc>,
    /// The service that answered: its URL with credentials and query values redacted.
    // Earlier versions stored the whole URL as `url`; such a file is read, then rewritten.
    #[serde(alias = "url")]
    pub service: String,
}

impl CachedCountry {
    /// An answer of `service` (a URL, redacted here) received now.
    pub fn new(country: impl Into<String>, service: &str) -> Self {
        CachedCountry {
            country: country.into(),
            saved: Utc::now(),
            service: redact(service),
        }
    }
}

/// The cached answer in `dir`, if there is one from `service` (a URL, compared redacted) that
/// is fresh at `now`. A missing, unreadable, malformed, stale or future-dated file, or one
/// from another service, is no answer (a new lookup will overwrite it).
///
/// A file written by an earlier version, which stored the URL unredacted (and readable by
/// others), is rewritten redacted and owner-only.
pub fn load(dir: &Path, service: &str, now: DateTime<Utc>) -> Option<CachedCountry> {
    let text = read_regular(&dir.join(FILE_NAME)).ok()?;
    let mut cached: CachedCountry = serde_json::from_str(&text).ok()?;
    let redacted = redact(&cached.service);
    if redacted != cached.service {
        cached.service = redacted;
        // Best effort: the answer is good either way, and a failure here is one to report
        // when a new answer is saved.
        let _ = save(dir, &cached);
    }
    let age = now.signed_duration_since(cached.saved);
    // A date a day or more ahead of the clock means the clock or the file is wrong: ask again.
    let fresh = age < Duration::days(MAX_AGE_DAYS) && age > -Duration::days(1);
    (fresh && cached.service == redact(service)).then_some(cached)
}

/// The largest cache file read (a real one is about 150 bytes).
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The text of `path` if it is a regular file: a link at the name is not followed, and a FIFO
/// or a device is not read (a FIFO would block the program building its meter).
fn read_regular(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting.
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES).read_to_string(&mut text)?;
    Ok(text)
}

/// Saves `cached` in `dir` (created owner-only if needed) as an owner-only file, replacing any
/// earlier answer atomically. The service is redacted again, whatever the caller gave.
pub fn save(dir: &Path, cached: &CachedCountry) -> Result<PathBuf, String> {
    let path = dir.join(FILE_NAME);
    let fail = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    crate::files::create_private_dir_all(dir).map_err(|e| fail("cannot create", dir, e))?;
    let cached = CachedCountry {
        service: redact(&cached.service),
        ..cached.clone()
    };
    let mut json = serde_json::to_vec_pretty(&cached).map_err(|e| e.to_string())?;
    json.push(b'\n');
    // A random name, created with O_EXCL and mode 0600: nothing planted in the directory can
    // redirect the write. Removed again if anything below fails.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{FILE_NAME}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail("cannot create a temporary file in", dir, e))?;
    tmp.write_all(&json)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| fail("cannot write", tmp.path(), e))?;
    // rename(2) replaces the name: a link at `country.json` is replaced, never written through.
    tmp.persist(&path)
        .map_err(|e| fail("cannot replace", &path, e.error))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "http://127.0.0.1:1/json";

    fn answer(saved: DateTime<Utc>) -> CachedCountry {
        CachedCountry {
            country: "FR".into(),
            saved,
            service: SERVICE.into(),
        }
    }

    #[test]
    fn a_saved_answer_is_read_back_while_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let path = save(dir.path(), &answer(now)).unwrap();
        assert_eq!(path, dir.path().join("country.json"));
        assert_eq!(load(dir.path(), SERVICE, now), Some(answer(now)));
        assert_eq!(
            load(dir.path(), SERVICE, now + Duration::days(29)),
            Some(answer(now))
        );
    }

    #[test]
    fn stale_future_and_broken_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        save(dir.path(), &answer(now - Duration::days(31))).unwrap();
        assert_eq!(load(dir.path(), SERVICE, now), None, "older than 30 days");
        save(dir.path(), &answer(now + Duration::days(3))).unwrap();
        assert_eq!(load(dir.path(), SERVICE, now), None, "dated in the future");
        std::fs::write(dir.path().join(FILE_NAME), "{\"country\": 3").unwrap();
        assert_eq!(load(dir.path(), SERVICE, now), None, "malformed");
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(load(empty.path(), SERVICE, now), None, "missing");
    }

    #[test]
    fn an_answer_of_another_service_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        save(dir.path(), &answer(now)).unwrap();
        assert_eq!(load(dir.path(), "http://127.0.0.1:2/json", now), None);
        // The same service with another token is the same service.
        let with_token = CachedCountry::new("FR", "https://ipinfo.io/json?token=one");
        save(dir.path(), &with_token).unwrap();
        assert!(load(dir.path(), "https://ipinfo.io/json?token=two", now).is_some());
    }

    #[test]
    fn no_secret_is_stored_and_an_old_file_is_rewritten_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = "https://user:hunter22@ipinfo.io/json?token=s3cr3t-t0ken";
        save(dir.path(), &CachedCountry::new("DE", url)).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(
            !text.contains("s3cr3t") && !text.contains("hunter22"),
            "{text}"
        );
        // The format of earlier versions: the whole URL under `url`.
        let old = format!(
            "{{\"country\": \"DE\", \"saved\": \"{}\", \"url\": \"{url}\"}}",
            Utc::now().to_rfc3339()
        );
        std::fs::write(dir.path().join(FILE_NAME), old).unwrap();
        let loaded = load(dir.path(), url, Utc::now()).expect("the old answer still counts");
        assert_eq!(loaded.country, "DE");
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(
            !text.contains("s3cr3t") && !text.contains("hunter22"),
            "{text}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn only_a_regular_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let elsewhere = tempfile::tempdir().unwrap();
        save(elsewhere.path(), &answer(now)).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join(FILE_NAME), dir.path().join(FILE_NAME))
            .unwrap();
        assert_eq!(
            load(dir.path(), SERVICE, now),
            None,
            "a link is not followed"
        );
        std::fs::remove_file(dir.path().join(FILE_NAME)).unwrap();
        let fifo = std::ffi::CString::new(dir.path().join(FILE_NAME).to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        // Would block forever if the FIFO were opened for reading as a file.
        assert_eq!(load(dir.path(), SERVICE, now), None, "a FIFO is not read");
    }

    #[test]
    fn save_creates_the_directory_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        save(&nested, &answer(Utc::now())).unwrap();
        let names: Vec<_> = std::fs::read_dir(&nested)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }
}
