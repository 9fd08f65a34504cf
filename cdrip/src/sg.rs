//! Linux SCSI generic transport: the `SG_IO` ioctl (`<scsi/sg.h>`, sg3_utils' "SG_IO v3" interface) on `/dev/sgN`
//! or `/dev/srN`.
//!
//! All `unsafe` code of odix lives in this file: the two `ioctl` calls below.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::transport::{CommandResult, Transport, TransportFailure, SENSE_MAX};

/// `SG_IO` request number (`<scsi/sg.h>`).
const SG_IO: libc::c_ulong = 0x2285;
/// `SG_GET_VERSION_NUM` request number (`<scsi/sg.h>`); also answered by the sr and block drivers.
const SG_GET_VERSION_NUM: libc::c_ulong = 0x2282;
/// `dxfer_direction`: no data.
const SG_DXFER_NONE: libc::c_int = -1;
/// `dxfer_direction`: host to device.
const SG_DXFER_TO_DEV: libc::c_int = -2;
/// `dxfer_direction`: device to host.
const SG_DXFER_FROM_DEV: libc::c_int = -3;
/// `host_status` DID_TIME_OUT (`<scsi/scsi_status.h>`).
const DID_TIME_OUT: u16 = 0x03;
/// `driver_status` low nibble DRIVER_TIMEOUT.
const DRIVER_TIMEOUT: u16 = 0x06;
/// `driver_status` low nibble DRIVER_SENSE: sense data were returned, not a failure by itself.
const DRIVER_SENSE: u16 = 0x08;

/// `struct sg_io_hdr` of `<scsi/sg.h>`, field for field.
#[repr(C)]
struct SgIoHdr {
    interface_id: libc::c_int,
    dxfer_direction: libc::c_int,
    cmd_len: libc::c_uchar,
    mx_sb_len: libc::c_uchar,
    iovec_count: libc::c_ushort,
    dxfer_len: libc::c_uint,
    dxferp: *mut libc::c_void,
    cmdp: *const libc::c_uchar,
    sbp: *mut libc::c_uchar,
    timeout: libc::c_uint,
    flags: libc::c_uint,
    pack_id: libc::c_int,
    usr_ptr: *mut libc::c_void,
    status: libc::c_uchar,
    masked_status: libc::c_uchar,
    msg_status: libc::c_uchar,
    sb_len_wr: libc::c_uchar,
    host_status: libc::c_ushort,
    driver_status: libc::c_ushort,
    resid: libc::c_int,
    duration: libc::c_uint,
    info: libc::c_uint,
}

/// An open SCSI generic or sr device.
#[derive(Debug)]
pub struct SgDevice {
    file: File,
    path: PathBuf,
}

impl SgDevice {
    /// Opens `path` (read-write when permitted, else read-only; non-blocking so an empty tray opens) and checks
    /// that it answers `SG_GET_VERSION_NUM`, i.e. that it is a SCSI device speaking SG_IO.
    pub fn open(path: &Path) -> io::Result<Self> {
        let open = |write: bool| OpenOptions::new().read(true).write(write).custom_flags(libc::O_NONBLOCK).open(path);
        let file = open(true).or_else(|_| open(false))?;
        let mut version: libc::c_int = 0;
        // SAFETY: `file` is an open descriptor for the whole call; SG_GET_VERSION_NUM writes one `int` through the
        // pointer, which points at the local `version`, valid and properly aligned.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), SG_GET_VERSION_NUM as _, &mut version as *mut libc::c_int) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("{} does not speak SG_IO: {e}", path.display())));
        }
        Ok(Self { file, path: path.to_path_buf() })
    }

    /// The device path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn submit(
        &mut self,
        cdb: &[u8],
        direction: libc::c_int,
        data: *mut u8,
        len: usize,
        timeout: Duration,
    ) -> io::Result<CommandResult> {
        let cmd_len = u8::try_from(cdb.len())
            .ok()
            .filter(|&l| (6..=16).contains(&l))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a CDB is 6 to 16 bytes"))?;
        let dxfer_len =
            u32::try_from(len).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "transfer too large"))?;
        let timeout_ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX).max(1);
        let mut sense = [0u8; SENSE_MAX];
        let mut hdr = SgIoHdr {
            interface_id: libc::c_int::from(b'S'),
            dxfer_direction: if len == 0 { SG_DXFER_NONE } else { direction },
            cmd_len,
            mx_sb_len: SENSE_MAX as u8,
            iovec_count: 0,
            dxfer_len,
            dxferp: data.cast(),
            cmdp: cdb.as_ptr(),
            sbp: sense.as_mut_ptr(),
            timeout: timeout_ms,
            flags: 0,
            pack_id: 0,
            usr_ptr: std::ptr::null_mut(),
            status: 0,
            masked_status: 0,
            msg_status: 0,
            sb_len_wr: 0,
            host_status: 0,
            driver_status: 0,
            resid: 0,
            duration: 0,
            info: 0,
        };
        // SAFETY: `hdr` is a correctly laid out `sg_io_hdr` living across the call. Its pointers are: `cdb`
        // (borrowed, `cmd_len` bytes, only read), `sense` (a local of `mx_sb_len` bytes) and `data`, which the
        // callers derive from a slice of exactly `len` == `dxfer_len` bytes borrowed for the duration of this call
        // (mutably for data-in). SG_IO is synchronous: the kernel touches none of them after the ioctl returns.
        let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), SG_IO as _, &mut hdr as *mut SgIoHdr) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let sense_len = usize::from(hdr.sb_len_wr).min(SENSE_MAX);
        let transferred = len.saturating_sub(usize::try_from(hdr.resid.max(0)).unwrap_or(0));
        let failure = if hdr.host_status == DID_TIME_OUT || hdr.driver_status & 0x0f == DRIVER_TIMEOUT {
            Some(TransportFailure::Timeout)
        } else if hdr.host_status != 0 {
            Some(TransportFailure::Host(hdr.host_status))
        } else if hdr.driver_status & 0x0f != 0 && hdr.driver_status & 0x0f != DRIVER_SENSE {
            Some(TransportFailure::Driver(hdr.driver_status))
        } else {
            None
        };
        Ok(CommandResult {
            status: hdr.status,
            sense: sense.get(..sense_len).unwrap_or_default().to_vec(),
            transferred,
            transport_failure: failure,
        })
    }
}

impl Transport for SgDevice {
    fn execute(&mut self, cdb: &[u8], data_in: &mut [u8], timeout: Duration) -> io::Result<CommandResult> {
        let len = data_in.len();
        self.submit(cdb, SG_DXFER_FROM_DEV, data_in.as_mut_ptr(), len, timeout)
    }

    fn execute_out(&mut self, cdb: &[u8], data_out: &[u8], timeout: Duration) -> io::Result<CommandResult> {
        // The kernel only reads a data-out buffer; the pointer is typed `*mut` by the C header alone.
        self.submit(cdb, SG_DXFER_TO_DEV, data_out.as_ptr().cast_mut(), data_out.len(), timeout)
    }
}

/// The optical drives of this machine (`/sys/class/block/sr*`), as `/dev/srN` paths in name order.
#[must_use]
pub fn optical_drives() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/sys/class/block")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter(|n| n.starts_with("sr") && n[2..].bytes().all(|b| b.is_ascii_digit()) && n.len() > 2)
                .map(|n| Path::new("/dev").join(n))
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        p.file_name().and_then(|n| n.to_str()).and_then(|n| n[2..].parse::<u32>().ok()).unwrap_or(u32::MAX)
    });
    if found.is_empty() && Path::new("/dev/sr0").exists() {
        found.push(PathBuf::from("/dev/sr0"));
    }
    found
}
