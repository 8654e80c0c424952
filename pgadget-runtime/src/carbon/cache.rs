//! The on-disk memory of an earlier geolocation answer: `<cache dir>/country.json`.
//!
//! It holds the alpha-2 code the service answered, when, and which service it was, so a
//! later process charges the same country without a request. An answer older than
//! [`MAX_AGE_DAYS`] is stale (people move, laptops travel) and a new lookup replaces it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How long a cached answer is used.
pub const MAX_AGE_DAYS: i64 = 30;

/// The file name inside the cache directory.
pub const FILE_NAME: &str = "country.json";

/// What `country.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedCountry {
    /// ISO 3166 alpha-2 code, as the service answered it (upper case).
    pub country: String,
    /// When the answer was received.
    pub saved: DateTime<Utc>,
    /// The service that answered.
    pub url: String,
}

/// The cache directory: `PGADGET_CACHE_DIR` if set, else `<user cache dir>/pgadget`
/// (`~/.cache/pgadget` on Linux), or `None` where the system has no cache directory.
pub fn cache_dir(configured: Option<&Path>) -> Option<PathBuf> {
    match configured {
        Some(dir) => Some(dir.to_path_buf()),
        None => dirs::cache_dir().map(|d| d.join("pgadget")),
    }
}

/// The cached answer in `dir`, if there is one that is fresh at `now`. A missing, unreadable,
/// malformed, stale or future-dated file is no answer (a new lookup will overwrite it).
pub fn load(dir: &Path, now: DateTime<Utc>) -> Option<CachedCountry> {
    let text = std::fs::read_to_string(dir.join(FILE_NAME)).ok()?;
    let cached: CachedCountry = serde_json::from_str(&text).ok()?;
    let age = now.signed_duration_since(cached.saved);
    // A date a day or more ahead of the clock means the clock or the file is wrong: ask again.
    let fresh = age < Duration::days(MAX_AGE_DAYS) && age > -Duration::days(1);
    fresh.then_some(cached)
}

/// Saves `cached` in `dir` (created if needed), replacing any earlier answer atomically so a
/// concurrent reader sees the old file or the new one, never half of one.
pub fn save(dir: &Path, cached: &CachedCountry) -> Result<PathBuf, String> {
    let path = dir.join(FILE_NAME);
    let fail = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    crate::files::create_private_dir_all(dir).map_err(|e| fail("cannot create", dir, e))?;
    let json = serde_json::to_vec_pretty(cached).map_err(|e| e.to_string())?;
    let tmp = dir.join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&json)?;
        f.write_all(b"\n")?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("cannot write", &tmp, e));
    }
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail("cannot replace", &path, e)
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(saved: DateTime<Utc>) -> CachedCountry {
        CachedCountry {
            country: "FR".into(),
            saved,
            url: "http://127.0.0.1:1/json".into(),
        }
    }

    #[test]
    fn a_saved_answer_is_read_back_while_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let path = save(dir.path(), &answer(now)).unwrap();
        assert_eq!(path, dir.path().join("country.json"));
        assert_eq!(load(dir.path(), now), Some(answer(now)));
        assert_eq!(
            load(dir.path(), now + Duration::days(29)),
            Some(answer(now))
        );
    }

    #[test]
    fn stale_future_and_broken_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        save(dir.path(), &answer(now - Duration::days(31))).unwrap();
        assert_eq!(load(dir.path(), now), None, "older than 30 days");
        save(dir.path(), &answer(now + Duration::days(3))).unwrap();
        assert_eq!(load(dir.path(), now), None, "dated in the future");
        std::fs::write(dir.path().join(FILE_NAME), "{\"country\": 3").unwrap();
        assert_eq!(load(dir.path(), now), None, "malformed");
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(load(empty.path(), now), None, "missing");
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

    #[test]
    fn cache_dir_honours_the_override() {
        assert_eq!(
            cache_dir(Some(Path::new("/tmp/x"))),
            Some(PathBuf::from("/tmp/x"))
        );
        if let Some(default) = cache_dir(None) {
            assert!(default.ends_with("pgadget"));
        }
    }
}
