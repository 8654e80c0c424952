//! Every row into PostgreSQL, against a real server of the test's own: many processes at
//! once, a database down at the start, killed in the middle, a wrong password, a missing
//! privilege. The CSV log and the table must always describe the same rows.
//!
//! Needs the `postgres` feature (on in `cargo test --workspace`, which builds the command line
//! with it) and Debian's `postgresql` package (installed by `.ci/run`).

#[cfg(not(feature = "postgres"))]
#[test]
#[ignore = "needs the `postgres` feature: cargo test --workspace, or -p pgadget-runtime --features postgres"]
fn shipping_to_postgres() {}

#[cfg(not(feature = "postgres"))]
mod without_postgres {
    use pgadget_test_support::child::{child_var, ChildTest};
    use pgadget_test_support::meter::{env_meter, make_calls};
    use pgadget_test_support::stderr;

    #[test]
    fn a_database_url_in_code_is_an_error_naming_the_feature() {
        let err = pgadget_runtime::PowerMeter::builder()
            .environment(pgadget_test_support::meter::estimate_env())
            .database_url("postgres://ada:s3cret@127.0.0.1:1/db")
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), pgadget_runtime::ConfigErrorKind::DatabaseUrl);
        assert!(err.to_string().contains("`postgres` feature"), "{err}");
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    #[ignore = "run as a child process by a_database_url_in_the_environment_is_one_message"]
    fn child_with_a_database_url() {
        child_var("PGADGET_LOG");
        make_calls(&env_meter(), 2, 5, std::time::Duration::ZERO);
    }

    #[test]
    fn a_database_url_in_the_environment_is_one_message() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("power_logs.csv");
        let out = ChildTest::new("without_postgres::child_with_a_database_url")
            .env("PGADGET_LOG", &log)
            .env(
                "PGADGET_DATABASE_URL",
                "postgres://ada:s3cret@127.0.0.1:1/db",
            )
            .run();
        let err = stderr(&out);
        let said: Vec<&str> = err.lines().filter(|l| l.starts_with("pgadget:")).collect();
        assert_eq!(said.len(), 1, "{err}");
        assert!(
            said[0].contains("no `postgres` feature: rows stay in the CSV log"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
        assert_eq!(pgadget_runtime::read_log(&log).unwrap().records.len(), 10);
    }
}

#[cfg(feature = "postgres")]
mod with_postgres {
    use pgadget_runtime::read_log;
    use pgadget_runtime::ship::EXIT_WAIT;
    use pgadget_test_support::child::ChildTest;
    use pgadget_test_support::engines::wait_for;
    use pgadget_test_support::http::{Reply, Server};
    use pgadget_test_support::meter::{child_calls_then_wait, CALLS, PAUSE_MS, STOP_FILE, THREADS};
    use pgadget_test_support::pg::{PgServer, PASSWORD};
    use pgadget_test_support::{stderr, stdout};
    use std::path::{Path, PathBuf};
    use std::process::Child;
    use std::time::{Duration, Instant};

    /// The body of every child process here: [`child_calls_then_wait`].
    #[test]
    #[ignore = "run as a child process by the tests of this file"]
    fn child_measures_and_exits() {
        child_calls_then_wait();
    }

    fn child(url: &str, log: &Path, threads: usize, calls: usize) -> ChildTest {
        ChildTest::new("with_postgres::child_measures_and_exits")
            .env("PGADGET_DATABASE_URL", url)
            .env("PGADGET_LOG", log)
            .env(THREADS, threads.to_string())
            .env(CALLS, calls.to_string())
    }

    fn finish(child: Child) -> (String, String) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success() && stdout(&out).contains("1 passed"),
            "the child failed ({}):\n{}\n{}",
            out.status,
            stdout(&out),
            stderr(&out)
        );
        (stdout(&out), stderr(&out))
    }

    /// The log's row ids, sorted; the log must read without a warning.
    fn csv_ids(log: &Path) -> Vec<String> {
        let contents = read_log(log).expect("the log reads back");
        assert!(contents.warnings.is_empty(), "{:?}", contents.warnings);
        let mut ids: Vec<String> = contents.records.into_iter().map(|r| r.row_id).collect();
        ids.sort();
        ids
    }

    /// Waits until the table holds `rows` rows while `running` lives; on a timeout, fails
    /// with what the child said.
    fn wait_for_rows(pg: &PgServer, rows: i64, running: Child, stop: &Path) -> Child {
        let end = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < end {
            if pg.count() == Some(rows) {
                return running;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::write(stop, "").unwrap();
        let out = running.wait_with_output().unwrap();
        panic!(
            "the table holds {:?} rows, not {rows}, after 60 s; the child said:\n{}\n{}",
            pg.count(),
            stdout(&out),
            stderr(&out)
        );
    }

    fn assert_same_rows(pg: &PgServer, log: &Path, expected: usize) {
        let csv = csv_ids(log);
        assert_eq!(csv.len(), expected, "rows in the CSV log");
        let mut distinct = csv.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), expected, "row ids repeat in the CSV log");
        let table = pg.row_ids();
        assert_eq!(table.len(), expected, "rows in the table");
        assert!(
            table == csv,
            "the table and the CSV log hold different row ids"
        );
    }

    fn log_in(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("power_logs.csv")
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_postgresql),
        ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
    )]
    fn four_processes_of_two_threads_ship_exactly_the_rows_of_the_csv() {
        let pg = PgServer::start("four_processes_of_two_threads_ship_exactly_the_rows_of_the_csv");
        let dir = tempfile::tempdir().unwrap();
        let log = log_in(&dir);
        let children: Vec<Child> = (0..4)
            .map(|_| child(&pg.url(), &log, 2, 500).spawn_piped())
            .collect();
        for c in children {
            let (_, err) = finish(c);
            // Nothing went wrong, so nothing is said.
            assert!(!err.contains("pgadget:"), "{err}");
        }
        assert_same_rows(&pg, &log, 4 * 2 * 500);
        // The table's columns hold the log's values, not just its ids.
        let mut client = pg.client();
        let row = client
            .query_one(
                "SELECT count(DISTINCT host), min(package), min(algorithm), min(status), \
                 count(cumulative_package_energy_mwh), count(*) FILTER (WHERE datetime > now() - interval '1 hour') \
                 FROM pgadget_rows",
                &[],
            )
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), 1);
        assert_eq!(row.get::<_, String>(1), "test");
        assert_eq!(row.get::<_, String>(2), "ship");
        assert_eq!(row.get::<_, String>(3), "ok");
        assert_eq!(
            row.get::<_, i64>(4),
            4000,
            "the estimate measures the package"
        );
        assert_eq!(row.get::<_, i64>(5), 4000);
    }

    #[test]
    fn a_database_that_never_answers_costs_no_row_and_the_exit_stays_bounded() {
        // Accepts the connection, reads what it is sent and never answers: a server that hangs.
        let silent = Server::start(Reply::Silent);
        let port = silent.url().trim_start_matches("http://127.0.0.1:");
        let port = port.trim_end_matches("/json");
        let url = format!("postgres://pgadget:{PASSWORD}@127.0.0.1:{port}/pgadget");
        let dir = tempfile::tempdir().unwrap();
        let log = log_in(&dir);
        let started = Instant::now();
        let (_, err) = finish(child(&url, &log, 2, 200).spawn_piped());
        // The exit waits for the shipper at most EXIT_WAIT; the rest is the test harness.
        assert!(
            started.elapsed() < EXIT_WAIT + Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        assert!(silent.connections() >= 1, "no connection was attempted");
        assert_eq!(csv_ids(&log).len(), 400, "the CSV log is complete");
        let said: Vec<&str> = err.lines().filter(|l| l.starts_with("pgadget:")).collect();
        assert_eq!(said.len(), 1, "{err}");
        assert!(
            said[0].contains("400 rows were not shipped")
                && said[0].contains(&format!("no answer within {} s", EXIT_WAIT.as_secs()))
                && said[0].contains("pgadget push --log"),
            "{err}"
        );
        assert!(!err.contains(PASSWORD), "{err}");
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_postgresql),
        ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
    )]
    fn rows_made_while_the_database_is_down_arrive_when_it_comes_up() {
        let pg = PgServer::start("rows_made_while_the_database_is_down_arrive_when_it_comes_up");
        pg.stop();
        let dir = tempfile::tempdir().unwrap();
        let log = log_in(&dir);
        let stop = dir.path().join("stop");
        let running = child(&pg.url(), &log, 2, 150)
            .env(STOP_FILE, &stop)
            .spawn_piped();
        std::thread::sleep(Duration::from_secs(3));
        pg.start_again();
        // The rows arrive while the process still lives: shipping resumed by itself.
        let running = wait_for_rows(&pg, 300, running, &stop);
        std::fs::write(&stop, "").unwrap();
        let (_, err) = finish(running);
        assert_same_rows(&pg, &log, 300);
        let down: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("cannot be reached"))
            .collect();
        assert_eq!(
            down.len(),
            1,
            "one line for the outage, not one per row:\n{err}"
        );
        assert!(down[0].contains("shipped when it is back"), "{err}");
        assert!(err.contains("takes rows again"), "{err}");
        assert!(!err.contains(PASSWORD), "{err}");
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_postgresql),
        ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
    )]
    fn a_database_killed_in_the_middle_loses_and_duplicates_nothing() {
        let pg = PgServer::start("a_database_killed_in_the_middle_loses_and_duplicates_nothing");
        let dir = tempfile::tempdir().unwrap();
        let log = log_in(&dir);
        let stop = dir.path().join("stop");
        // 2 x 1500 calls, 2 ms apart: rows keep coming for several seconds.
        let running = child(&pg.url(), &log, 2, 1500)
            .env(PAUSE_MS, "2")
            .env(STOP_FILE, &stop)
            .spawn_piped();
        let before = wait_for("the first rows", Duration::from_secs(30), || {
            pg.count().filter(|&n| n > 0)
        });
        pg.kill();
        std::thread::sleep(Duration::from_millis(1500));
        pg.start_again();
        let running = wait_for_rows(&pg, 3000, running, &stop);
        std::fs::write(&stop, "").unwrap();
        let (_, err) = finish(running);
        assert!(
            before < 3000,
            "the server was killed after the last row ({before})"
        );
        assert_same_rows(&pg, &log, 3000);
        assert!(err.contains("takes rows again"), "{err}");
        // One outage: each thing is said once, however many rows and attempts it touched.
        let said: Vec<&str> = err.lines().filter(|l| l.starts_with("pgadget:")).collect();
        let mut distinct = said.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), said.len(), "a message repeats:\n{err}");
        assert!(said.len() <= 3, "{err}");
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_postgresql),
        ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
    )]
    fn a_wrong_password_keeps_the_csv_complete_and_says_what_to_fix() {
        let pg = PgServer::start("a_wrong_password_keeps_the_csv_complete_and_says_what_to_fix");
        let dir = tempfile::tempdir().unwrap();
        let log = log_in(&dir);
        let wrong = "not-the-password-42";
        let (_, err) = finish(child(&pg.url_with_password(wrong), &log, 2, 100).spawn_piped());
        assert_eq!(csv_ids(&log).len(), 200, "the CSV log is complete");
        assert_eq!(pg.count(), None, "nothing reached the database (no table)");
        assert!(!err.contains(wrong), "the password is printed:\n{err}");
        let refused: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("refused") && !l.contains("not shipped"))
            .collect();
        assert_eq!(
            refused.len(),
            1,
            "one line, not one per row or attempt:\n{err}"
        );
        assert!(refused[0].contains("PGADGET_DATABASE_URL"), "{err}");
        assert!(
            refused[0].contains("postgres://pgadget:***@127.0.0.1"),
            "{err}"
        );
        assert!(refused[0].contains("password"), "{err}");
        // At exit: what was not shipped, and how to upload it.
        let exit = err
            .lines()
            .find(|l| l.contains("not shipped"))
            .unwrap_or_else(|| panic!("no word of the rows left:\n{err}"));
        assert!(exit.contains("200 rows"), "{exit}");
        assert!(exit.contains("pgadget push --log"), "{exit}");
    }

    #[test]
    #[cfg_attr(
        not(pgadget_test_postgresql),
        ignore = "needs PostgreSQL: install the Debian package postgresql (.ci/run does)"
    )]
    fn a_user_without_the_insert_privilege_is_told_which_privilege() {
        let pg = PgServer::start("a_user_without_the_insert_privilege_is_told_which_privilege");
        let dir = tempfile::tempdir().unwrap();
        let log = log_in(&dir);
        // A first run creates the table as its owner; the second user may only connect.
        finish(child(&pg.url(), &log, 1, 1).spawn_piped());
        pg.create_role("reader", "reader-password");
        let (_, err) =
            finish(child(&pg.url_of("reader", "reader-password"), &log, 1, 5).spawn_piped());
        let refused: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("may not") && !l.contains("not shipped"))
            .collect();
        assert_eq!(refused.len(), 1, "{err}");
        assert!(refused[0].contains("user reader may not insert into the table pgadget_rows"));
        assert!(refused[0].contains("GRANT INSERT ON pgadget_rows"), "{err}");
        assert_eq!(csv_ids(&log).len(), 6);
        assert_eq!(pg.count(), Some(1));
    }
}
