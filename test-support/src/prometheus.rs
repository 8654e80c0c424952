//! Prometheus and its Pushgateway, of the test's own: Debian's `prometheus` scraping given
//! targets every second, and `prometheus-pushgateway`, each on a free loopback port with its
//! storage in a temp dir.

use crate::engines::{free_port, require, wait_until_ready};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const PUSHGATEWAY: &str = "/usr/bin/prometheus-pushgateway";

/// A running server; killed when dropped.
#[derive(Debug)]
struct Running {
    child: Child,
    dir: TempDir,
    port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(program: &Path, args: &[String], dir: TempDir, port: u16, name: &str) -> Running {
    let log = dir.path().join("server.log");
    let out = std::fs::File::create(&log).expect("create the server's log");
    let err = out.try_clone().expect("share the server's log");
    let child = Command::new(program)
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    let running = Running { child, dir, port };
    wait_until_ready(
        name,
        &format!("http://127.0.0.1:{port}/-/ready"),
        &running.dir.path().join("server.log"),
    );
    running
}

/// Prometheus scraping `targets` (`host:port`, path `/metrics`) every second.
#[derive(Debug)]
pub struct Prometheus {
    server: Running,
}

impl Prometheus {
    /// Starts Prometheus. Fails, naming the package to install, when it is not installed
    /// (tests that call this are `#[ignore]`d then, see [`crate::engines::require`]).
    pub fn start(test: &str, targets: &[String]) -> Prometheus {
        let program = require(test, Path::new(PROMETHEUS), "prometheus");
        let dir = tempfile::tempdir().expect("a temp dir for Prometheus");
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: pgadget\n    scrape_interval: 1s\n    \
             scrape_timeout: 1s\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).expect("write Prometheus's configuration");
        let port = free_port();
        let args = vec![
            format!("--config.file={}", config_file.display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        Prometheus {
            server: spawn(&program, &args, dir, port, "Prometheus"),
        }
    }

    /// The values of an instant query, through Prometheus's HTTP API
    /// (`/api/v1/query`): one per series of the answer.
    pub fn query(&self, promql: &str) -> Vec<f64> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.server.port);
        let body = ureq::get(&url)
            .query("query", promql)
            .call()
            .unwrap_or_else(|e| panic!("query Prometheus for {promql}: {e}"))
            .body_mut()
            .read_to_string()
            .expect("read Prometheus's answer");
        let answer: serde_json::Value =
            serde_json::from_str(&body).expect("Prometheus answers JSON");
        assert_eq!(answer["status"], "success", "{body}");
        answer["data"]["result"]
            .as_array()
            .unwrap_or_else(|| panic!("no result in {body}"))
            .iter()
            .map(|series| {
                series["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("a value in {body}"))
            })
            .collect()
    }
}

/// A Prometheus Pushgateway.
#[derive(Debug)]
pub struct Pushgateway {
    server: Running,
}

impl Pushgateway {
    /// Starts a Pushgateway. Fails, naming the package to install, when it is not installed
    /// (tests that call this are `#[ignore]`d then, see [`crate::engines::require`]).
    pub fn start(test: &str) -> Pushgateway {
        let program = require(test, Path::new(PUSHGATEWAY), "prometheus-pushgateway");
        let dir = tempfile::tempdir().expect("a temp dir for the Pushgateway");
        let port = free_port();
        let args = vec![format!("--web.listen-address=127.0.0.1:{port}")];
        Pushgateway {
            server: spawn(&program, &args, dir, port, "the Pushgateway"),
        }
    }

    /// Its URL, for `PGADGET_PUSHGATEWAY_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// What it serves at `/metrics`: every pushed series, with its `job` and `instance`.
    pub fn metrics(&self) -> String {
        ureq::get(format!("{}/metrics", self.url()))
            .call()
            .expect("read the Pushgateway's metrics")
            .body_mut()
            .read_to_string()
            .expect("read the Pushgateway's answer")
    }
}

/// The sum of the values of the series named `name` in Prometheus text whose labels include
/// every one of `labels` (`key="value"`); `None` when there is no such series.
pub fn sum_series(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (label_part, value) = match rest.strip_prefix('{') {
            Some(rest) => match rest.split_once("} ") {
                Some(parts) => parts,
                None => continue,
            },
            None => match rest.strip_prefix(' ') {
                Some(value) => ("", value),
                None => continue,
            },
        };
        if labels.iter().all(|l| label_part.contains(l)) {
            let v: f64 = value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("a value in {line:?}"));
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}
