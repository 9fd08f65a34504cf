//! MMC and SPC responses as a drive returns them: sense data (fixed and descriptor), INQUIRY, READ TOC formats
//! 0/1/2/5, GET CONFIGURATION, READ DISC/TRACK INFORMATION, MODE SENSE error-recovery page. The first byte picks
//! the parser; each must return an error, never panic, on any bytes. A second pass drives `Drive` through a
//! transport that answers every command with the same bytes, so the command layer's length handling is covered.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use odix_cdrip::mmc::{
    CdText, Configuration, DiscInformation, Drive, ErrorRecoveryPage, FullToc, Inquiry, SessionInfo, Toc,
    TrackInformation,
};
use odix_cdrip::sense::Sense;
use odix_cdrip::transport::{CommandResult, Transport};

/// Answers every command with the fuzz bytes as data (or as sense data when the selector asks for a CHECK
/// CONDITION), reporting as many bytes transferred as the input claims, not as many as fit.
struct Replay<'a> {
    data: &'a [u8],
    check_condition: bool,
    claimed: usize,
}

impl Transport for Replay<'_> {
    fn execute(&mut self, _cdb: &[u8], data_in: &mut [u8], _timeout: Duration) -> std::io::Result<CommandResult> {
        if self.check_condition {
            return Ok(CommandResult::check_condition(self.data.to_vec()));
        }
        let n = self.data.len().min(data_in.len());
        data_in[..n].copy_from_slice(&self.data[..n]);
        Ok(CommandResult::good(self.claimed))
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, data)) = input.split_first() else { return };
    match selector % 12 {
        0 => {
            if let Some(s) = Sense::parse(data) {
                let _ = (s.description(), s.is_invalid_opcode(), s.is_invalid_field(), s.to_string());
            }
        }
        1 => drop(Inquiry::parse(data)),
        2 => drop(Toc::parse(data)),
        3 => drop(SessionInfo::parse(data)),
        4 => {
            if let Ok(t) = FullToc::parse(data) {
                for e in &t.entries {
                    let _ = e.p_lba();
                }
            }
        }
        5 => {
            let t = CdText::parse(data);
            for kind in 0x80..=0x8f {
                let _ = t.texts(kind);
            }
        }
        6 => drop(Configuration::parse(data)),
        7 => drop(DiscInformation::parse(data)),
        8 => drop(TrackInformation::parse(data)),
        9 => drop(ErrorRecoveryPage::parse(data)),
        _ => {
            let claimed = usize::from(selector) << 4;
            let replay = Replay { data, check_condition: selector % 12 == 11, claimed };
            let mut drive = Drive::new(replay, Duration::from_secs(1));
            let _ = drive.inquiry();
            let _ = drive.read_capacity();
            let _ = drive.read_toc();
            let _ = drive.read_session_info();
            let _ = drive.read_full_toc();
            let _ = drive.read_cd_text();
            let _ = drive.get_configuration();
            let _ = drive.read_disc_information();
            let _ = drive.read_track_information(1);
            let _ = drive.request_sense();
            if let Ok(page) = drive.read_error_recovery() {
                let _ = drive.set_read_retry_count(&page, 8);
            }
            let mut buf = vec![0u8; 2048 * 2];
            let _ = drive.read10(16, 2, &mut buf);
            let _ = drive.failures();
        }
    }
});
