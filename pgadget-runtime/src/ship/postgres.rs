//! The table `pgadget_rows` in PostgreSQL: connecting, creating the table, inserting rows
//! idempotently, and reading them back a batch at a time.
//!
//! The table has the log's columns, in the log's order, named in snake_case ("Project name"
//! is `project_name`), with `row_id` as the primary key: a row inserted twice is stored once
//! (`ON CONFLICT (row_id) DO NOTHING`), so shipping may retry anything, any number of times.

use crate::config::DatabaseUrl;
use crate::log::Record;
use chrono::{DateTime, FixedOffset, Local};
use postgres::config::{Host, SslMode};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The table every row goes to.
pub const TABLE: &str = "pgadget_rows";

/// How long a connection attempt may take when the connection string does not say
/// (`connect_timeout`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long data sent to the server may stay unacknowledged before the connection is given
/// up (Linux's `TCP_USER_TIMEOUT`): a server that vanished from the network must not hold the
/// shipper for the minutes TCP would otherwise wait.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// How many rows one `INSERT` carries at most.
pub const BATCH_ROWS: usize = 1000;

/// How many rows are fetched from the server at a time when reading the table.
const FETCH_ROWS: i32 = 1000;

/// A column of the table: its name and SQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The log's column name in snake_case.
    pub name: &'static str,
    /// `timestamptz`, `double precision` or `text`.
    pub sql_type: &'static str,
}

const fn col(name: &'static str, sql_type: &'static str) -> Column {
    Column { name, sql_type }
}

const TS: &str = "timestamptz";
const F64: &str = "double precision";
const TEXT: &str = "text";

/// The table's columns, in [`crate::log::HEADER`]'s order: each is the header's name in
/// snake_case (apostrophes dropped, every other run of non-alphanumerics an underscore).
pub const COLUMNS: [Column; 28] = [
    col("datetime", TS),
    col("user_id", TEXT),
    col("iso", TEXT),
    col("country", TEXT),
    col("platform", TEXT),
    col("project_name", TEXT),
    col("total_elapsed_cpu_time_sec", F64),
    col("total_elapsed_gpu_time_sec", F64),
    col("cumulative_package_energy_mwh", F64),
    col("cumulative_ia_energy_mwh", F64),
    col("cumulative_gpu_energy_mwh", F64),
    col("cumulative_dram_energy_mwh", F64),
    col("pue", F64),
    col("co2_emitted_gco2e", F64),
    col("package", TEXT),
    col("algorithm", TEXT),
    col("algorithms_parameters", TEXT),
    col("data_type", TEXT),
    col("data_shape", TEXT),
    col("comment", TEXT),
    col("function", TEXT),
    col("energy_source", TEXT),
    col("process_cpu_time_sec", F64),
    col("status", TEXT),
    col("process_cpu_share", F64),
    col("energy_note", TEXT),
    col("row_id", TEXT),
    col("host", TEXT),
];

/// The statement that creates the table. Numbers may be empty (a domain that was not
/// measured), as in the log; the row id, the time and the texts are always there.
pub fn create_table_sql() -> String {
    let columns: Vec<String> = COLUMNS
        .iter()
        .map(|c| {
            let constraint = match (c.name, c.sql_type) {
                ("row_id", _) => " PRIMARY KEY",
                (_, F64) => "",
                _ => " NOT NULL",
            };
            format!("    {} {}{constraint}", c.name, c.sql_type)
        })
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (\n{}\n)",
        columns.join(",\n")
    )
}

/// The index that keeps reading by time (`--since`, `--last`, the order of `show`) fast.
pub fn create_index_sql() -> String {
    format!("CREATE INDEX IF NOT EXISTS {TABLE}_datetime ON {TABLE} (datetime)")
}

fn column_list() -> String {
    COLUMNS
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The insert: one array per column, zipped back into rows by `unnest`, so that one prepared
/// statement takes a batch of any size.
fn insert_sql() -> String {
    let arrays: Vec<String> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let element = if c.sql_type == F64 {
                "float8"
            } else {
                c.sql_type
            };
            format!("${}::{element}[]", i + 1)
        })
        .collect();
    format!(
        "INSERT INTO {TABLE} ({}) SELECT * FROM unnest({}) ON CONFLICT (row_id) DO NOTHING",
        column_list(),
        arrays.join(", ")
    )
}

/// Where rows go: a parsed connection string, and how to name it without its password.
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
    shown: String,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Target").field(&self.shown).finish()
    }
}

impl Target {
    /// Parses a connection string (`postgres://user:password@host:port/db`, or libpq's
    /// `key=value` form). The error never repeats the string, which may hold a password.
    pub fn parse(url: &DatabaseUrl) -> Result<Target, String> {
        let mut config = postgres::Config::from_str(url.expose()).map_err(|_| {
            "it is not a connection string PostgreSQL understands; write it as \
             postgres://user:password@host:port/database"
                .to_string()
        })?;
        if config.get_ssl_mode() == SslMode::Require {
            return Err(
                "it asks for TLS (sslmode=require), which pgadget does not speak to \
                        PostgreSQL yet; use sslmode=prefer or disable, or a TLS tunnel"
                    .into(),
            );
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("pgadget");
        }
        let shown = show(&config);
        Ok(Target { config, shown })
    }

    /// The database as `postgres://user:***@host:port/db`: what messages name.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The user the connection string names, if any (else the OS account is used).
    pub fn user(&self) -> Option<&str> {
        self.config.get_user()
    }

    fn user_or_account(&self) -> String {
        self.user()
            .map(|u| format!("user {u}"))
            .unwrap_or_else(|| "your account".into())
    }
}

/// The connection string without its password.
fn show(config: &postgres::Config) -> String {
    let mut out = String::from("postgres://");
    if let Some(user) = config.get_user() {
        out.push_str(user);
        if config.get_password().is_some() {
            out.push_str(":***");
        }
        out.push('@');
    }
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(dir) => format!("[{}]:{port}", dir.display()),
            }
        })
        .collect();
    out.push_str(&if hosts.is_empty() {
        "localhost".to_string()
    } else {
        hosts.join(",")
    });
    out.push('/');
    out.push_str(config.get_dbname().or(config.get_user()).unwrap_or(""));
    out
}

/// What went wrong with the database, sorted by what the user can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// No answer, a refused connection, a server shutting down or restarting: it may come
    /// back by itself.
    Unreachable,
    /// The server refused the password (or the user).
    Authentication,
    /// The user lacks a privilege: to create the table, to insert, to read.
    Privilege,
    /// The database named in the connection string does not exist.
    NoDatabase,
    /// The table does not exist (when reading: nothing was ever shipped there).
    NoTable,
    /// A row the server refuses whatever happens (a value it cannot store).
    BadRow,
    /// Anything else the server said.
    Other,
}

/// What the shipper (or `pgadget push`) was doing when it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Connecting and logging in.
    Connect,
    /// Creating the table.
    CreateTable,
    /// Inserting rows.
    Insert,
    /// Reading rows.
    Read,
}

/// A failure to reach, use or write the database, with a message a person can act on.
#[derive(Debug)]
pub struct DbError {
    /// What kind of failure it is.
    pub kind: FailureKind,
    step: Step,
    /// What the server or the network said.
    detail: String,
    target: String,
    who: String,
    database: String,
}

impl DbError {
    fn new(target: &Target, step: Step, e: &postgres::Error) -> DbError {
        let (kind, detail) = classify(e);
        DbError {
            kind,
            step,
            detail,
            target: target.shown.clone(),
            who: target.user_or_account(),
            database: target.config.get_dbname().unwrap_or("").to_string(),
        }
    }

    /// What went wrong and what to do, in one sentence (without "pgadget: ").
    pub fn explain(&self) -> String {
        let Self {
            target,
            detail,
            who,
            ..
        } = self;
        match self.kind {
            FailureKind::Unreachable => {
                format!("PostgreSQL at {target} cannot be reached ({detail})")
            }
            FailureKind::Authentication => format!(
                "PostgreSQL at {target} refused {who} ({detail}): fix the user or password in \
                 PGADGET_DATABASE_URL (or PowerMeter::database_url)"
            ),
            FailureKind::Privilege => {
                let (action, grant) = match self.step {
                    Step::CreateTable => (
                        format!("create the table {TABLE}"),
                        format!(
                            "let an owner of the database create it (its statement is in the \
                             README, \"Many machines\"), or grant CREATE on the schema to {who}"
                        ),
                    ),
                    Step::Read => (
                        format!("read the table {TABLE}"),
                        format!("GRANT SELECT ON {TABLE} TO the user"),
                    ),
                    _ => (
                        format!("insert into the table {TABLE}"),
                        format!("GRANT INSERT ON {TABLE} TO the user"),
                    ),
                };
                format!("{who} may not {action} at {target} ({detail}): {grant}")
            }
            FailureKind::NoDatabase => format!(
                "the database {:?} does not exist at {target}: create it (createdb) or fix \
                 PGADGET_DATABASE_URL",
                self.database
            ),
            FailureKind::NoTable => format!(
                "there is no table {TABLE} at {target}: no row was ever shipped there (a \
                 program with PGADGET_DATABASE_URL set, or `pgadget push`, creates it)"
            ),
            FailureKind::BadRow => format!("PostgreSQL at {target} refused a row ({detail})"),
            FailureKind::Other => match self.step {
                Step::Connect => format!("cannot connect to PostgreSQL at {target} ({detail})"),
                Step::CreateTable => {
                    format!("cannot create the table {TABLE} at {target} ({detail})")
                }
                Step::Insert => format!("PostgreSQL at {target} refused the rows ({detail})"),
                Step::Read => format!("cannot read the table {TABLE} at {target} ({detail})"),
            },
        }
    }

    /// What went wrong in a few words, for a sentence about something else.
    pub fn brief(&self) -> String {
        match self.kind {
            FailureKind::Unreachable => "it could not be reached".into(),
            FailureKind::Authentication => format!("it refused {}", self.who),
            FailureKind::Privilege => format!("{} lacks a privilege", self.who),
            FailureKind::NoDatabase => format!("there is no database {:?}", self.database),
            FailureKind::NoTable => format!("there is no table {TABLE}"),
            FailureKind::BadRow => "it refused a row".into(),
            FailureKind::Other => self.detail.clone(),
        }
    }

    /// Whether retrying may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        self.kind == FailureKind::Unreachable
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain())
    }
}

impl std::error::Error for DbError {}

/// Sorts a client error by what the user can do about it, and says what happened in words.
fn classify(e: &postgres::Error) -> (FailureKind, String) {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let detail = format!("{}, SQLSTATE {}", db.message(), code.code());
        let kind = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            FailureKind::Authentication
        } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            FailureKind::Privilege
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            FailureKind::NoDatabase
        } else if *code == SqlState::UNDEFINED_TABLE {
            FailureKind::NoTable
        } else if code.code().starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            FailureKind::Unreachable
        } else if code.code().starts_with("22") {
            // Data exceptions: a value the column cannot hold (a NUL byte in a text, ...).
            FailureKind::BadRow
        } else {
            FailureKind::Other
        };
        return (kind, detail);
    }
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    // Without a server's answer: the network, a closed connection, a timeout. The message of
    // an invalid configuration comes from the connection string, which was checked when the
    // target was parsed.
    (FailureKind::Unreachable, detail)
}

/// A connection to the database, with the table in place and the insert prepared.
pub struct Database {
    client: Client,
    target: Target,
    insert: Statement,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// A fixed key for the advisory lock under which the table is created: concurrent first
/// runs on many machines would otherwise race in `CREATE TABLE IF NOT EXISTS` (which can fail
/// on the catalog's unique index). The bytes spell "pgadget".
const CREATE_LOCK_KEY: i64 = 0x0070_6761_6467_6574;

impl Database {
    /// Connects, creates the table if it is missing, and prepares the insert.
    pub fn connect(target: &Target) -> Result<Database, DbError> {
        let mut client = target
            .config
            .connect(NoTls)
            .map_err(|e| DbError::new(target, Step::Connect, &e))?;
        ensure_table(&mut client).map_err(|e| DbError::new(target, Step::CreateTable, &e))?;
        let insert = client
            .prepare(&insert_sql())
            .map_err(|e| DbError::new(target, Step::Insert, &e))?;
        Ok(Database {
            client,
            target: target.clone(),
            insert,
        })
    }

    /// Connects for reading only: the table must exist.
    pub fn connect_to_read(target: &Target) -> Result<Client, DbError> {
        target
            .config
            .connect(NoTls)
            .map_err(|e| DbError::new(target, Step::Connect, &e))
    }

    /// Where this connection goes.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Inserts `rows` (at most [`BATCH_ROWS`]) in one statement; rows whose id the table
    /// already has are left as they are. Returns how many rows were new.
    pub fn insert<'a>(
        &mut self,
        rows: impl IntoIterator<Item = &'a Record>,
    ) -> Result<u64, DbError> {
        let columns = Columns::of(rows);
        let params = columns.params();
        self.client
            .execute(&self.insert, &params)
            .map_err(|e| DbError::new(&self.target, Step::Insert, &e))
    }

    /// Inserts `rows`, and when the server refuses the batch because of a value it cannot
    /// store, inserts them one by one so that only the rows it refuses are left out. Returns
    /// how many rows were new, and the refused rows with the reason.
    pub fn insert_or_isolate(
        &mut self,
        rows: &[&Record],
    ) -> Result<(u64, Vec<(usize, DbError)>), DbError> {
        match self.insert(rows.iter().copied()) {
            Ok(n) => Ok((n, Vec::new())),
            Err(e) if e.kind == FailureKind::BadRow => {
                let mut new = 0;
                let mut refused = Vec::new();
                for (i, row) in rows.iter().enumerate() {
                    match self.insert([*row]) {
                        Ok(n) => new += n,
                        Err(e) if e.kind == FailureKind::BadRow => refused.push((i, e)),
                        Err(e) => return Err(e),
                    }
                }
                Ok((new, refused))
            }
            Err(e) => Err(e),
        }
    }
}

/// Which rows to read: the filters of `pgadget show`, `summary` and `plot`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RowFilter {
    /// Only this "Project name".
    pub project: Option<String>,
    /// Only this "Algorithm".
    pub algorithm: Option<String>,
    /// Only rows measured at or after this time.
    pub since: Option<DateTime<FixedOffset>>,
    /// Only rows measured on this host.
    pub host: Option<String>,
    /// Only the N most recent of the rows the other filters keep.
    pub last: Option<u64>,
}

impl RowFilter {
    /// No filter: every row.
    pub fn new() -> Self {
        RowFilter::default()
    }
}

/// Reads rows from the table a batch at a time, oldest first, through a portal (a cursor):
/// memory holds one batch whatever the table's size.
pub struct RowReader<'a> {
    tx: postgres::Transaction<'a>,
    portal: postgres::Portal,
    batch: std::vec::IntoIter<postgres::Row>,
    done: bool,
    target: Target,
}

impl fmt::Debug for RowReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowReader")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl<'a> RowReader<'a> {
    /// Starts reading the rows `filter` keeps, oldest first (by time, then row id).
    pub fn new(
        client: &'a mut Client,
        target: &Target,
        filter: &RowFilter,
    ) -> Result<RowReader<'a>, DbError> {
        let err = |e: postgres::Error| DbError::new(target, Step::Read, &e);
        let conditions = "($1::text IS NULL OR project_name = $1) \
             AND ($2::text IS NULL OR algorithm = $2) \
             AND ($3::timestamptz IS NULL OR datetime >= $3) \
             AND ($4::text IS NULL OR host = $4)";
        let columns = column_list();
        let sql = match filter.last {
            None => format!(
                "SELECT {columns} FROM {TABLE} WHERE {conditions} ORDER BY datetime, row_id"
            ),
            Some(_) => format!(
                "SELECT * FROM (SELECT {columns} FROM {TABLE} WHERE {conditions} \
                 ORDER BY datetime DESC, row_id DESC LIMIT $5) AS last_rows \
                 ORDER BY datetime, row_id"
            ),
        };
        let last = filter.last.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &filter.project,
            &filter.algorithm,
            &filter.since,
            &filter.host,
        ];
        if filter.last.is_some() {
            params.push(&last);
        }
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(err)?;
        let portal = tx.bind(sql.as_str(), &params).map_err(err)?;
        Ok(RowReader {
            tx,
            portal,
            batch: Vec::new().into_iter(),
            done: false,
            target: target.clone(),
        })
    }

    /// The next row, `Ok(None)` at the end. A row that is not a valid record (a value a
    /// pgadget row cannot have, written by something else) comes as `Err(why)` in `Some`.
    pub fn next_row(&mut self) -> Result<Option<Result<Record, String>>, DbError> {
        loop {
            if let Some(row) = self.batch.next() {
                return Ok(Some(record_of(&row)));
            }
            if self.done {
                return Ok(None);
            }
            let rows = self
                .tx
                .query_portal(&self.portal, FETCH_ROWS)
                .map_err(|e| DbError::new(&self.target, Step::Read, &e))?;
            self.done = rows.len() < FETCH_ROWS as usize;
            self.batch = rows.into_iter();
        }
    }
}

/// The record a row of the table holds. Times come back in the local time zone (the table
/// keeps the instant, not the offset it was written with).
fn record_of(row: &postgres::Row) -> Result<Record, String> {
    let id: String = row.try_get(26).unwrap_or_default();
    let bad = |e: postgres::Error| format!("the row {id:?} of {TABLE} is not a pgadget row: {e}");
    let text = |i: usize| row.try_get::<_, String>(i).map_err(bad);
    let number = |i: usize| row.try_get::<_, Option<f64>>(i).map_err(bad);
    let required = |i: usize| {
        number(i)?.ok_or_else(|| {
            format!(
                "the row {id:?} of {TABLE} has no {} (a pgadget row always has one)",
                COLUMNS[i].name
            )
        })
    };
    let datetime: DateTime<FixedOffset> = row.try_get(0).map_err(bad)?;
    Ok(Record {
        datetime: datetime.with_timezone(&Local).fixed_offset(),
        user: text(1)?,
        iso: text(2)?,
        country: text(3)?,
        platform: text(4)?,
        project: text(5)?,
        elapsed_secs: required(6)?,
        gpu_elapsed_secs: required(7)?,
        package_mwh: number(8)?,
        cores_mwh: number(9)?,
        gpu_mwh: number(10)?,
        dram_mwh: number(11)?,
        pue: required(12)?,
        co2_g: number(13)?,
        package: text(14)?,
        algorithm: text(15)?,
        algorithm_params: text(16)?,
        data_type: text(17)?,
        data_shape: text(18)?,
        comments: text(19)?,
        function: text(20)?,
        energy_source: text(21)?,
        process_cpu_secs: number(22)?,
        status: text(23)?,
        cpu_share: number(24)?,
        energy_note: text(25)?,
        row_id: text(26)?,
        host: text(27)?,
    })
}

/// How many rows the table holds.
pub fn count_rows(client: &mut Client, target: &Target) -> Result<u64, DbError> {
    let row = client
        .query_one(&format!("SELECT count(*) FROM {TABLE}"), &[])
        .map_err(|e| DbError::new(target, Step::Read, &e))?;
    let n: i64 = row
        .try_get(0)
        .map_err(|e| DbError::new(target, Step::Read, &e))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Creates the table (and its index on time) unless it exists. A user who may insert but not
/// create finds it there and needs no more.
fn ensure_table(client: &mut Client) -> Result<(), postgres::Error> {
    if table_exists(client)? {
        return Ok(());
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK_KEY])?;
    tx.batch_execute(&format!("{};\n{}", create_table_sql(), create_index_sql()))?;
    tx.commit()
}

fn table_exists(client: &mut Client) -> Result<bool, postgres::Error> {
    let row = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&TABLE])?;
    row.try_get(0)
}

/// One cell of a row, as the table stores it.
enum Cell<'a> {
    Time(DateTime<FixedOffset>),
    Text(&'a str),
    Number(Option<f64>),
}

/// The cells of `r` in [`COLUMNS`]' order: the one place that maps a [`Record`] to the table.
fn cells(r: &Record) -> [Cell<'_>; 28] {
    use Cell::{Number as N, Text as T};
    [
        Cell::Time(r.datetime),
        T(&r.user),
        T(&r.iso),
        T(&r.country),
        T(&r.platform),
        T(&r.project),
        N(Some(r.elapsed_secs)),
        N(Some(r.gpu_elapsed_secs)),
        N(r.package_mwh),
        N(r.cores_mwh),
        N(r.gpu_mwh),
        N(r.dram_mwh),
        N(Some(r.pue)),
        N(r.co2_g),
        T(&r.package),
        T(&r.algorithm),
        T(&r.algorithm_params),
        T(&r.data_type),
        T(&r.data_shape),
        T(&r.comments),
        T(&r.function),
        T(&r.energy_source),
        N(r.process_cpu_secs),
        T(&r.status),
        N(r.cpu_share),
        T(&r.energy_note),
        T(&r.row_id),
        T(&r.host),
    ]
}

/// One column of a batch: the values of every row, as one array parameter.
enum Values<'a> {
    Time(Vec<DateTime<FixedOffset>>),
    Text(Vec<&'a str>),
    Number(Vec<Option<f64>>),
}

impl Values<'_> {
    fn as_param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Values::Time(v) => v,
            Values::Text(v) => v,
            Values::Number(v) => v,
        }
    }
}

/// A batch of rows as one array per column, in [`COLUMNS`]' order.
struct Columns<'a>(Vec<Values<'a>>);

impl<'a> Columns<'a> {
    fn of(rows: impl IntoIterator<Item = &'a Record>) -> Self {
        let mut columns: Vec<Values<'a>> = COLUMNS
            .iter()
            .map(|c| match c.sql_type {
                TS => Values::Time(Vec::new()),
                F64 => Values::Number(Vec::new()),
                _ => Values::Text(Vec::new()),
            })
            .collect();
        for row in rows {
            for (column, cell) in columns.iter_mut().zip(cells(row)) {
                match (column, cell) {
                    (Values::Time(v), Cell::Time(t)) => v.push(t),
                    (Values::Text(v), Cell::Text(t)) => v.push(t),
                    (Values::Number(v), Cell::Number(n)) => v.push(n),
                    // COLUMNS and `cells` list the same types in the same order (a unit test
                    // checks it), so the pairs above are the only ones.
                    _ => unreachable!("COLUMNS and cells() disagree"),
                }
            }
        }
        Columns(columns)
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0.iter().map(Values::as_param).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header's name in snake_case, by the rule [`COLUMNS`] follows.
    fn snake(name: &str) -> String {
        let mut out = String::new();
        for c in name.chars().filter(|&c| c != '\'') {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('_') {
                out.push('_');
            }
        }
        out.trim_matches('_').to_string()
    }

    #[test]
    fn columns_are_the_log_header_in_snake_case_with_the_records_types() {
        let names: Vec<String> = crate::log::HEADER.iter().map(|h| snake(h)).collect();
        let columns: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(columns, names);
        // `cells` gives every column a value of its declared type (Columns::of relies on it).
        let record = crate::log::record::sample();
        for (column, cell) in COLUMNS.iter().zip(cells(&record)) {
            let kind = match cell {
                Cell::Time(_) => TS,
                Cell::Text(_) => TEXT,
                Cell::Number(_) => F64,
            };
            assert_eq!(column.sql_type, kind, "{}", column.name);
        }
        let sql = create_table_sql();
        assert!(sql.contains("row_id text PRIMARY KEY"), "{sql}");
        assert!(sql.contains("datetime timestamptz NOT NULL"), "{sql}");
        assert!(
            sql.contains("cumulative_dram_energy_mwh double precision,"),
            "{sql}"
        );
    }

    #[test]
    fn the_readme_shows_the_schema_pgadget_creates() {
        let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(readme).unwrap();
        let schema = format!("{};\n{};\n", create_table_sql(), create_index_sql());
        assert!(readme.contains(&schema), "README.md lacks:\n{schema}");
    }

    #[test]
    fn messages_name_the_database_without_its_password() {
        let url = DatabaseUrl::new("postgres://ada:s3cret@db.lab:6543/energy?sslmode=disable");
        let target = Target::parse(&url).unwrap();
        assert_eq!(target.shown(), "postgres://ada:***@db.lab:6543/energy");
        assert!(!format!("{target:?}").contains("s3cret"));
        let target = Target::parse(&DatabaseUrl::new("host=db.lab user=ada password=s3cret"));
        assert_eq!(
            target.unwrap().shown(),
            "postgres://ada:***@db.lab:5432/ada"
        );
        let err = Target::parse(&DatabaseUrl::new("s3cret")).unwrap_err();
        assert!(
            !err.contains("s3cret") && err.contains("postgres://"),
            "{err}"
        );
        let err = Target::parse(&DatabaseUrl::new("postgres://db.lab/x?sslmode=require"));
        assert!(err.unwrap_err().contains("TLS"));
    }
}
