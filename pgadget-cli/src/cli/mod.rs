//! The subcommands that read the log or the table (`show`, `summary`, `plot`), the one that
//! writes to the log (`run`) and the one that uploads it (`push`). `doctor` lives in the
//! runtime (`energy::doctor`).

pub mod database;
pub mod filter;
pub mod format;
pub mod group;
pub mod plot;
pub mod push;
pub mod run;
pub mod show;
pub mod summary;

use std::fmt;
use std::io;

/// A failure the user must see: printed as `pgadget: <message>`, exit status 1.
#[derive(Debug)]
pub struct CliError {
    message: String,
    /// The reader of our output went away (`pgadget show | head`): nothing to tell anyone.
    quiet: bool,
}

impl CliError {
    /// An error with a message a person can act on.
    pub fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            quiet: false,
        }
    }

    /// An error writing the command's output to stdout. A closed pipe is not worth a message.
    pub fn stdout(e: io::Error) -> Self {
        CliError {
            quiet: e.kind() == io::ErrorKind::BrokenPipe,
            message: format!("cannot write to standard output: {e}"),
        }
    }

    /// Whether the error should end the program without a message.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}
