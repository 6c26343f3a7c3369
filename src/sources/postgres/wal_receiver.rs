//! `pg_receivewal` for a PITR source: the physical replication slot that keeps the server's
//! WAL while Coffer is away, and the streaming process itself. Connection settings and the
//! password reach it through the environment (`sql.rs`), never its command line.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::sql::{Pg, MAINTENANCE_DB};
use crate::config::PitrSettings;
use crate::error::Result;
use crate::sources::server::ServerAddress;
use crate::sources::tool;

/// How one source's WAL is received.
pub struct WalReceiver {
    pg: Pg,
    slot: String,
    synchronous: bool,
}

impl WalReceiver {
    pub fn new(server: ServerAddress, pitr: &PitrSettings) -> WalReceiver {
        WalReceiver {
            pg: Pg { server },
            slot: pitr.slot.clone(),
            synchronous: pitr.synchronous,
        }
    }

    /// The server, as logs may show it.
    pub fn server(&self) -> String {
        self.pg.server.redacted()
    }

    fn command(&self) -> Command {
        let mut command = self.pg.command("pg_receivewal", MAINTENANCE_DB);
        command.args(["--no-password", "--slot", &self.slot]);
        command
    }

    /// Creates the slot unless it exists (reserving WAL from now on).
    pub fn create_slot(&self) -> Result<()> {
        let mut command = self.command();
        command.args(["--create-slot", "--if-not-exists"]);
        tool::output("pg_receivewal", command).map(|_| ())
    }

    /// Starts streaming into `spool` (finished segments appear under their own names, the
    /// current one as `<name>.partial`); it ends when the connection does (`--no-loop`:
    /// restarting is the caller's, with back-off). Its stderr is piped for the log.
    pub fn start(&self, spool: &Path) -> Result<Child> {
        let mut command = self.command();
        command
            .arg("--directory")
            .arg(spool)
            .args(["--no-loop", "--verbose"]);
        if self.synchronous {
            command.arg("--synchronous");
        }
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        tool::spawn("pg_receivewal", &mut command)
    }
}
