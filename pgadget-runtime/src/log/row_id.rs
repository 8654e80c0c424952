//! "Row ID": an id unique across machines and processes, so that the CSV and a database table
//! (where it is the primary key) name the same rows, and a row shipped twice is stored once.
//!
//! It is a UUID in RFC 9562's version 8 (custom) layout: 60 random bits drawn once per process
//! (and again in a forked child, whose rows would otherwise repeat its parent's ids: see
//! `crate::fork`), then a
//! 62-bit counter of the rows the process has made. Drawing randomness once keeps the measured
//! call free of a system call for it; two processes can only share ids if their 60 random bits
//! are equal, about one chance in 2 million million for a pair.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The random half of the ids, and the fork generation of the process that drew it.
#[derive(Clone, Copy)]
struct ProcessKey {
    generation: u64,
    bits: u64,
}

static KEY: Mutex<Option<ProcessKey>> = Mutex::new(None);
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A row id held in place, so that a row needs no allocation for it.
#[derive(Clone, Copy)]
pub struct RowId {
    text: [u8; uuid::fmt::Hyphenated::LENGTH],
}

impl RowId {
    /// A new row id.
    pub fn next() -> RowId {
        let bits = process_bits();
        let count = NEXT.fetch_add(1, Ordering::Relaxed);
        RowId::of(bits, count)
    }

    fn of(bits: u64, count: u64) -> RowId {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&bits.to_be_bytes());
        bytes[8..].copy_from_slice(&count.to_be_bytes());
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        // new_v8 overwrites the version (4 bits of the random half) and the variant (the top 2
        // bits of the counter, which 2^62 rows never reach).
        uuid::Uuid::new_v8(bytes)
            .hyphenated()
            .encode_lower(&mut text);
        RowId { text }
    }

    /// The id as text, e.g. `5b1f0c2e-93aa-8d41-8000-000000000007`.
    pub fn as_str(&self) -> &str {
        // encode_lower wrote ASCII hex digits and hyphens into the whole array.
        std::str::from_utf8(&self.text).unwrap_or_default()
    }
}

impl std::fmt::Debug for RowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new row id as a `String`, e.g. `5b1f0c2e-93aa-8d41-8000-000000000007`.
#[cfg(test)]
pub fn next() -> String {
    RowId::next().as_str().to_string()
}

/// The first 18 characters every id this process makes shares (its random half, with the
/// version), e.g. `5b1f0c2e-93aa-8d41`: a row whose id starts with them is this process's.
#[cfg(feature = "postgres")]
pub fn process_prefix() -> String {
    let mut id = RowId::of(process_bits(), 0).as_str().to_string();
    id.truncate(18);
    id
}

/// This process's random half, drawn on first use (and again in a forked child).
fn process_bits() -> u64 {
    let generation = crate::fork::generation();
    // Two plain values written together: a panic cannot leave them half-written.
    let mut key = KEY.lock().unwrap_or_else(|p| p.into_inner());
    match *key {
        Some(k) if k.generation == generation => k.bits,
        _ => {
            let bits = draw();
            *key = Some(ProcessKey { generation, bits });
            bits
        }
    }
}

/// 64 bits from the operating system's random source. Should the source fail (it does not on
/// any supported system), the time and the process id stand in: ids stay unique within the
/// machine, if no longer across machines.
fn draw() -> u64 {
    getrandom::u64().unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_version_8_uuids_and_never_repeat() {
        let ids: Vec<String> = (0..1000).map(|_| next()).collect();
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 8, "{id}");
            assert_eq!(id.len(), 36);
        }
        // One process, one random half.
        assert_eq!(ids[0][..18], ids[999][..18]);
        #[cfg(feature = "postgres")]
        assert_eq!(process_prefix(), ids[0][..18]);
    }
}
