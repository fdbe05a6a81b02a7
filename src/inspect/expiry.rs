//! `cert_expires_soon` in `inspect`: a certificate in the files that is still valid at the
//! clock used but expires within `--warn-days` of it (expired ones are other findings).

use super::{Code, FileReport, Finding, Severity};

const DAY: i64 = 86_400;

/// One warning per certificate of `files` (what, file) expiring within `warn_days` of `now`.
pub(super) fn check(
    files: &[(&str, Option<&FileReport>)],
    now: i64,
    warn_days: u32,
    out: &mut Vec<Finding>,
) {
    let until = now.saturating_add(i64::from(warn_days).saturating_mul(DAY));
    for (what, file) in files {
        let Some(file) = file else { continue };
        for c in &file.certs {
            if c.version == 0 || c.not_after_unix < now || c.not_after_unix > until {
                continue;
            }
            let days = (c.not_after_unix - now) / DAY;
            let mut finding = Finding::new(
                Code::CertExpiresSoon,
                Severity::Warning,
                Some(&c.subject),
                format!(
                    "{what} {}: {} expires {} ({days} day{} left, within --warn-days {warn_days})",
                    file.path,
                    c.subject,
                    c.not_after,
                    if days == 1 { "" } else { "s" }
                ),
            );
            finding.remedy = Some(format!(
                "Renew it before {} and install the new certificate where {} is used.",
                c.not_after, file.path
            ));
            out.push(finding);
        }
    }
}
