//! The geolocation service, as pgadget shows and remembers it: its URL with any credentials
//! (`user:password@`) and every query value (`?token=...`) replaced by `REDACTED`. The real
//! URL is used for the request only; the cache and every message hold the redacted one.
//!
//! A key written into the path (`/api/KEY/json`) cannot be told from a path and is not
//! redacted; services that take a token take it in the query or as credentials.

/// What stands in for a redacted part.
pub const REDACTED: &str = "REDACTED";

/// The configured geolocation service.
#[derive(Clone, Debug)]
pub(crate) struct Service {
    url: String,
    shown: String,
    /// The parts of `url` that were redacted, longest first, to scrub from foreign text.
    secrets: Vec<String>,
}

impl Service {
    pub(crate) fn new(url: impl Into<String>) -> Service {
        let url = url.into();
        let (shown, mut secrets) = redact_parts(&url);
        if shown != url {
            secrets.push(url.clone());
        }
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Service {
            url,
            shown,
            secrets,
        }
    }

    /// The URL to request. Never print or store it: use [`Service::shown`].
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The URL with credentials and query values redacted, for messages and the cache.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// `text` (an error from the HTTP client, which may quote the URL) with every redacted
    /// part of the URL replaced.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.replace(&self.url, &self.shown);
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), REDACTED);
        }
        text
    }
}

/// `url` with credentials and query values redacted. Works on any text, a URL that does not
/// parse included (that is when a message is most likely to quote it).
pub fn redact(url: &str) -> String {
    redact_parts(url).0
}

/// The redacted URL, and the parts taken out of it that are worth scrubbing from other text
/// (single characters and the like would garble a message more than they could reveal).
fn redact_parts(url: &str) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    let mut keep = |s: &str| {
        if s.len() >= 3 && s != REDACTED {
            secrets.push(s.to_string());
        }
    };
    let (rest, fragment) = match url.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (url, None),
    };
    let (base, query) = match rest.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (rest, None),
    };
    let (scheme, after_scheme) = match base.split_once("://") {
        Some((scheme, after)) => (Some(scheme), after),
        None => (None, base),
    };
    let (authority, path) = match after_scheme.find('/') {
        Some(at) => after_scheme.split_at(at),
        None => (after_scheme, ""),
    };
    let mut shown = String::with_capacity(url.len());
    if let Some(scheme) = scheme {
        shown.push_str(scheme);
        shown.push_str("://");
    }
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            keep(userinfo);
            userinfo.split(':').for_each(&mut keep);
            shown.push_str(REDACTED);
            shown.push('@');
            shown.push_str(host);
        }
        None => shown.push_str(authority),
    }
    shown.push_str(path);
    if let Some(query) = query {
        keep(query);
        shown.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, "")) => format!("{key}="),
                Some((key, value)) => {
                    keep(value);
                    format!("{key}={REDACTED}")
                }
                None if param.is_empty() => String::new(),
                None => {
                    keep(param);
                    REDACTED.to_string()
                }
            })
            .collect();
        shown.push_str(&params.join("&"));
    }
    if let Some(fragment) = fragment {
        shown.push('#');
        if !fragment.is_empty() {
            keep(fragment);
            shown.push_str(REDACTED);
        }
    }
    (shown, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_url_is_shown_as_it_is() {
        for url in [
            "https://ipinfo.io/json",
            "http://127.0.0.1:8080/json",
            "http://[::1]:80/",
            "ipinfo.io",
            "",
        ] {
            assert_eq!(redact(url), url);
        }
    }

    #[test]
    fn credentials_and_query_values_are_redacted() {
        assert_eq!(
            redact("https://ipinfo.io/json?token=0123abcd"),
            "https://ipinfo.io/json?token=REDACTED"
        );
        assert_eq!(
            redact("https://me:pa:ss@geo.example/x?a=1&key=s3cret&flag&empty=#frag"),
            "https://REDACTED@geo.example/x?a=REDACTED&key=REDACTED&REDACTED&empty=#REDACTED"
        );
        // Not a URL ureq would take, still redacted.
        assert_eq!(
            redact("user:pw@ipinfo.io/json?token=abc"),
            "REDACTED@ipinfo.io/json?token=REDACTED"
        );
        assert_eq!(redact("https://h/p?"), "https://h/p?");
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        let once = redact("https://u:p@h/p?token=xyz#f");
        assert_eq!(redact(&once), once);
    }

    #[test]
    fn scrub_removes_every_secret_from_foreign_text() {
        let service = Service::new("http://alice:wonder@127.0.0.1:9/json?token=tok-123456");
        let text = format!(
            "bad uri: {} is missing something; token tok-123456, password wonder, user alice",
            service.url()
        );
        let scrubbed = service.scrub(&text);
        for secret in ["tok-123456", "wonder", "alice"] {
            assert!(!scrubbed.contains(secret), "{secret} in {scrubbed}");
        }
        assert!(scrubbed.contains(service.shown()), "{scrubbed}");
        assert_eq!(
            service.shown(),
            "http://REDACTED@127.0.0.1:9/json?token=REDACTED"
        );
    }
}
