//! The transport: one SCSI/MMC command descriptor block (CDB) in, status, sense and data out.
//!
//! Two implementations: [`crate::sg::SgDevice`] (Linux SG_IO) and [`crate::sim::SimDrive`] (a simulated drive with
//! a fault model). Everything above this trait — [`crate::mmc`], [`crate::rip`] — is written once against it.

use std::time::Duration;

/// SCSI status byte GOOD (SAM-5 5.3.1).
pub const STATUS_GOOD: u8 = 0x00;
/// SCSI status byte CHECK CONDITION: sense data describe the failure (SAM-5 5.3.1).
pub const STATUS_CHECK_CONDITION: u8 = 0x02;

/// The largest sense buffer requested from a transport, in bytes (SPC-4 4.5.1: 252 is the most a device returns).
pub const SENSE_MAX: usize = 252;

/// What happened to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    /// SCSI status byte; one of the `STATUS_*` constants for the common cases.
    pub status: u8,
    /// Sense bytes returned with CHECK CONDITION (empty when none were returned).
    pub sense: Vec<u8>,
    /// Bytes of the data-in buffer that the device filled.
    pub transferred: usize,
    /// The host adapter or the kernel gave up before the device answered (timeout, reset, bus error).
    pub transport_failure: Option<TransportFailure>,
}

impl CommandResult {
    /// A GOOD completion that transferred `transferred` bytes.
    #[must_use]
    pub fn good(transferred: usize) -> Self {
        Self { status: STATUS_GOOD, sense: Vec::new(), transferred, transport_failure: None }
    }

    /// A CHECK CONDITION completion carrying `sense`.
    #[must_use]
    pub fn check_condition(sense: Vec<u8>) -> Self {
        Self { status: STATUS_CHECK_CONDITION, sense, transferred: 0, transport_failure: None }
    }

    /// A command the host side gave up on.
    #[must_use]
    pub fn failed(failure: TransportFailure) -> Self {
        Self { status: STATUS_GOOD, sense: Vec::new(), transferred: 0, transport_failure: Some(failure) }
    }

    /// True when the command completed with GOOD status and no transport failure.
    #[must_use]
    pub fn is_good(&self) -> bool {
        self.status == STATUS_GOOD && self.transport_failure.is_none()
    }
}

/// A failure below the SCSI layer: the device never produced a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The command did not complete within its timeout.
    Timeout,
    /// The host adapter reported an error (Linux `host_status`).
    Host(u16),
    /// The kernel driver reported an error (Linux `driver_status`).
    Driver(u16),
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => f.write_str("command timed out"),
            Self::Host(s) => write!(f, "host adapter status 0x{s:02x}"),
            Self::Driver(s) => write!(f, "driver status 0x{s:02x}"),
        }
    }
}

/// Executes MMC commands on one device.
///
/// Only data-in and no-data commands exist in odix's reading path plus MODE SELECT, so the trait carries one
/// direction flag rather than a general scatter list.
pub trait Transport {
    /// Sends `cdb` and fills `data_in` (its length is the allocation length the CDB asks for), waiting at most
    /// `timeout`. An `Err` means the command could not even be submitted (for example the device node vanished);
    /// every answer of the device, good or not, is an `Ok`.
    fn execute(&mut self, cdb: &[u8], data_in: &mut [u8], timeout: Duration) -> std::io::Result<CommandResult>;

    /// Sends `cdb` with `data_out` as the data-out buffer (MODE SELECT). The default refuses, for read-only
    /// transports.
    fn execute_out(&mut self, cdb: &[u8], data_out: &[u8], timeout: Duration) -> std::io::Result<CommandResult> {
        let _ = (cdb, data_out, timeout);
        Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "this transport sends no data to the device"))
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn execute(&mut self, cdb: &[u8], data_in: &mut [u8], timeout: Duration) -> std::io::Result<CommandResult> {
        (**self).execute(cdb, data_in, timeout)
    }
    fn execute_out(&mut self, cdb: &[u8], data_out: &[u8], timeout: Duration) -> std::io::Result<CommandResult> {
        (**self).execute_out(cdb, data_out, timeout)
    }
}
