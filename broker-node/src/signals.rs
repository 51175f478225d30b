//! The signals the node acts on: SIGTERM and SIGINT (Ctrl-C) stop it, SIGHUP reloads the
//! password and ACL files.
//!
//! The first stop signal asks for a graceful drain; a second one, while the drain runs, exits
//! at once. Handlers are installed by [`Signals::install`] and [`Reloads::install`] before the
//! listeners are bound, so a signal that arrives as soon as the broker accepts connections is
//! never lost to the default action (which, for SIGHUP too, ends the process).

use std::fmt;
use std::io;

/// A signal asking the node to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopSignal {
    /// SIGTERM: what `kill`, systemd and Kubernetes send.
    Terminate,
    /// SIGINT: Ctrl-C in a terminal.
    Interrupt,
}

impl StopSignal {
    /// The conventional exit status of a process ended by this signal (128 + its number).
    pub(crate) fn exit_status(self) -> u8 {
        match self {
            StopSignal::Terminate => 128 + 15,
            StopSignal::Interrupt => 128 + 2,
        }
    }
}

impl fmt::Display for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Interrupt => "SIGINT",
        })
    }
}

/// The installed handlers. Must be created inside a tokio runtime.
#[derive(Debug)]
pub(crate) struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the SIGTERM and SIGINT handlers; from now on these signals no longer kill the
    /// process but are delivered to [`Signals::recv`].
    #[cfg(unix)]
    pub(crate) fn install() -> io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next stop signal.
    #[cfg(unix)]
    pub(crate) async fn recv(&mut self) -> StopSignal {
        tokio::select! {
            Some(()) = self.terminate.recv() => StopSignal::Terminate,
            Some(()) = self.interrupt.recv() => StopSignal::Interrupt,
            else => std::future::pending().await,
        }
    }

    /// Installs the Ctrl-C handler (the only stop signal outside Unix).
    #[cfg(not(unix))]
    pub(crate) fn install() -> io::Result<Signals> {
        Ok(Signals {})
    }

    /// Waits for the next Ctrl-C.
    #[cfg(not(unix))]
    pub(crate) async fn recv(&mut self) -> StopSignal {
        match tokio::signal::ctrl_c().await {
            Ok(()) => StopSignal::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}

/// The installed SIGHUP handler: "reload your files", as Mosquitto reads it. Must be created
/// inside a tokio runtime. Signals that arrive while a reload runs are merged into one.
#[derive(Debug)]
pub(crate) struct Reloads {
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Reloads {
    /// Installs the SIGHUP handler; from now on SIGHUP no longer ends the process but is
    /// delivered to [`Reloads::recv`].
    #[cfg(unix)]
    pub(crate) fn install() -> io::Result<Reloads> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Reloads {
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the next SIGHUP; `None` when no more can come.
    #[cfg(unix)]
    pub(crate) async fn recv(&mut self) -> Option<()> {
        self.hangup.recv().await
    }

    /// Outside Unix there is no SIGHUP: nothing ever asks for a reload.
    #[cfg(not(unix))]
    pub(crate) fn install() -> io::Result<Reloads> {
        Ok(Reloads {})
    }

    /// Never returns outside Unix.
    #[cfg(not(unix))]
    pub(crate) async fn recv(&mut self) -> Option<()> {
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_exit_statuses() {
        assert_eq!(StopSignal::Terminate.to_string(), "SIGTERM");
        assert_eq!(StopSignal::Interrupt.to_string(), "SIGINT");
        assert_eq!(StopSignal::Terminate.exit_status(), 143);
        assert_eq!(StopSignal::Interrupt.exit_status(), 130);
    }
}
