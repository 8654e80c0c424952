//! A PostgreSQL server of the test's own: Debian's `initdb` and `pg_ctl`, a cluster in a
//! temp dir, listening on a free loopback port, run as the unprivileged `postgres` user (or
//! `nobody`) since the tests run as root and PostgreSQL refuses root.

use crate::engines::{free_port, installed_or_say, require};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

/// The role the programs under test log in as, and its password.
pub const USER: &str = "pgadget";
/// The password of [`USER`].
pub const PASSWORD: &str = "pgadget-test-password";
/// The database, owned by [`USER`].
pub const DATABASE: &str = "pgadget";
const SUPERUSER_PASSWORD: &str = "superuser-test-password";

/// A PostgreSQL cluster; stopped (immediately) and deleted when dropped.
#[derive(Debug)]
pub struct PgServer {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    uid: u32,
    gid: u32,
    durable: bool,
}

/// The directory of Debian's newest PostgreSQL programs, `/usr/lib/postgresql/N/bin`.
fn bin_dir() -> PathBuf {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .max();
    match newest {
        Some(version) => PathBuf::from(format!("/usr/lib/postgresql/{version}/bin")),
        None => PathBuf::from("/usr/lib/postgresql/N/bin"),
    }
}

/// The uid and gid of `name`, if the account exists.
fn account(name: &str) -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam takes a NUL-terminated name and returns null or a pointer to a static
    // record, read at once (the tests make no other getpw* call that could overwrite it).
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return None;
    }
    // SAFETY: non-null, so it points to a valid passwd record.
    let entry = unsafe { &*entry };
    Some((entry.pw_uid, entry.pw_gid))
}

impl PgServer {
    /// Creates a cluster and starts it, with the role [`USER`] owning the database
    /// [`DATABASE`]. Fails, naming the package to install, when PostgreSQL is not installed
    /// (tests that call this are `#[ignore]`d then, see [`crate::engines::require`]).
    pub fn start(test: &str) -> PgServer {
        Self::start_with(test, false)
    }

    /// Like [`PgServer::start`], with PostgreSQL's default durability (`fsync` on), as a
    /// production server has it: for benchmarks. `None`, after a message impossible to miss,
    /// when PostgreSQL is not installed.
    pub fn start_durable(what: &str) -> Option<PgServer> {
        installed_or_say(what, &bin_dir().join("initdb"), "postgresql")
            .then(|| Self::start_with(what, true))
    }

    fn start_with(test: &str, durable: bool) -> PgServer {
        let bin = bin_dir();
        require(test, &bin.join("initdb"), "postgresql");
        let (uid, gid) = account("postgres").unwrap_or((crate::user::NOBODY, crate::user::NOBODY));
        let dir = tempfile::Builder::new()
            .prefix("pgadget-pg-")
            .tempdir()
            .expect("a temp dir for the cluster");
        chown(dir.path(), uid, gid);
        let server = PgServer {
            dir,
            bin,
            port: free_port(),
            uid,
            gid,
            durable,
        };
        let pwfile = server.dir.path().join("superuser-password");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD).expect("write the password file");
        chown(&pwfile, uid, gid);
        server.run_ok(
            Command::new(server.bin.join("initdb"))
                .arg("-D")
                .arg(server.data())
                .args([
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .args(["-E", "UTF8", "--no-locale", "--no-sync"])
                .arg(format!("--pwfile={}", pwfile.display())),
        );
        server.start_again();
        let mut admin = server.admin("postgres");
        // Two statements: CREATE DATABASE refuses to run in the block a batch makes.
        admin
            .batch_execute(&format!("CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'"))
            .expect("create the test role");
        admin
            .batch_execute(&format!("CREATE DATABASE {DATABASE} OWNER {USER}"))
            .expect("create the test database");
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The port it listens on (when started).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://pgadget:<password>@127.0.0.1:<port>/pgadget`.
    pub fn url(&self) -> String {
        self.url_with_password(PASSWORD)
    }

    /// The URL of [`USER`] with another password.
    pub fn url_with_password(&self, password: &str) -> String {
        format!(
            "postgres://{USER}:{password}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// The URL of another role (see [`PgServer::create_role`]).
    pub fn url_of(&self, role: &str, password: &str) -> String {
        format!(
            "postgres://{role}:{password}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// A connection as the superuser to `database`.
    pub fn admin(&self, database: &str) -> postgres::Client {
        postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres password={SUPERUSER_PASSWORD} dbname={database}",
                self.port
            ),
            postgres::NoTls,
        )
        .unwrap_or_else(|e| panic!("connect to the test cluster as its superuser: {e}"))
    }

    /// A connection as the superuser to the test database.
    pub fn client(&self) -> postgres::Client {
        self.admin(DATABASE)
    }

    /// Creates a role that may log in and connect but has no privilege on the table.
    pub fn create_role(&self, role: &str, password: &str) {
        self.client()
            .batch_execute(&format!(
                "CREATE ROLE {role} LOGIN PASSWORD '{password}';
                 GRANT CONNECT ON DATABASE {DATABASE} TO {role};"
            ))
            .expect("create a role");
    }

    /// The row ids in `pgadget_rows`, sorted, duplicates kept (the table's primary key would
    /// refuse them, but a test should see them if it did not).
    pub fn row_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .client()
            .query("SELECT row_id FROM pgadget_rows", &[])
            .expect("read the row ids")
            .iter()
            .map(|r| r.get(0))
            .collect();
        ids.sort();
        ids
    }

    /// How many rows `pgadget_rows` has, `None` while the table does not exist or the
    /// server does not answer.
    pub fn count(&self) -> Option<i64> {
        let mut client = postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=postgres password={SUPERUSER_PASSWORD} \
                 dbname={DATABASE} connect_timeout=2",
                self.port
            ),
            postgres::NoTls,
        )
        .ok()?;
        client
            .query_one("SELECT count(*) FROM pgadget_rows", &[])
            .ok()
            .map(|r| r.get(0))
    }

    /// Starts the server (again), on the same port, and waits until it takes connections.
    ///
    /// Without fsync (unless durable), for speed: a killed server still keeps every commit
    /// it acknowledged (the operating system, which does not crash here, has the WAL).
    /// Commits stay synchronous: with `synchronous_commit=off` a killed server would lose rows
    /// it had acknowledged, which no client can notice.
    pub fn start_again(&self) {
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            self.dir.path().display()
        );
        if !self.durable {
            options.push_str(" -c fsync=off -c full_page_writes=off");
        }
        self.run_ok(
            Command::new(self.bin.join("pg_ctl"))
                .args(["start", "-w", "-t", "60", "-D"])
                .arg(self.data())
                .arg("-l")
                .arg(self.log())
                .args(["-o", &options]),
        );
    }

    /// Stops the server cleanly (`pg_ctl stop -m fast`).
    pub fn stop(&self) {
        self.pg_ctl_stop("fast");
    }

    /// Kills the server as a crash would: every backend at once, no checkpoint
    /// (`pg_ctl stop -m immediate`); the next start recovers.
    pub fn kill(&self) {
        self.pg_ctl_stop("immediate");
    }

    fn pg_ctl_stop(&self, mode: &str) {
        self.run_ok(
            Command::new(self.bin.join("pg_ctl"))
                .args(["stop", "-w", "-t", "60", "-m", mode, "-D"])
                .arg(self.data()),
        );
    }

    fn run(&self, command: &mut Command) -> Output {
        command
            .uid(self.uid)
            .gid(self.gid)
            .env("LC_ALL", "C")
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("run {command:?}: {e}"))
    }

    fn run_ok(&self, command: &mut Command) {
        let out = self.run(command);
        assert!(
            out.status.success(),
            "{command:?} failed ({}):\n{}\n{}\nserver log:\n{}",
            out.status,
            crate::stdout(&out),
            crate::stderr(&out),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Already stopped is fine.
        let _ = self.run(
            Command::new(self.bin.join("pg_ctl"))
                .args(["stop", "-w", "-m", "immediate", "-D"])
                .arg(self.data()),
        );
    }
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}
