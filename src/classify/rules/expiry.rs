//! `cert_expires_soon`: a certificate the connection rests on (the broker's path up to its
//! trust anchor, the client certificate) expires within `--warn-days` of the probe's clock.

use crate::x509::CertSummary;

use super::{Context, Evidence, chain};

const DAY: i64 = 86_400;

/// One certificate that expires within the warning window.
pub(in crate::classify) struct Expiring {
    /// Which certificate: "server certificate", "intermediate", "trust anchor",
    /// "client certificate".
    pub role: &'static str,
    pub subject: String,
    pub not_after: String,
    /// Whole days from the probe's clock to notAfter (0: expires within a day).
    pub days_left: i64,
}

/// The certificates that are still valid at `checked_at` but expire within `warn_days` of it,
/// soonest first. Expired ones are other codes (`server_cert_expired`, `expired_trust_anchor`).
pub(in crate::classify) fn expiring(ev: &Evidence, cx: &Context<'_>) -> Vec<Expiring> {
    let mut certs: Vec<(&'static str, CertSummary)> = match cx.chain {
        Some(a) if !a.path.is_empty() => a
            .path
            .iter()
            .enumerate()
            .map(|(i, l)| (role(i, l.anchor()), l.cert.clone()))
            .collect(),
        _ => chain(ev, cx)
            .into_iter()
            .enumerate()
            .map(|(i, c)| (role(i, false), c))
            .collect(),
    };
    if let Some(client) = cx.client_cert {
        certs.push(("client certificate", client.clone()));
    }
    let until = cx
        .checked_at
        .saturating_add(i64::from(cx.warn_days).saturating_mul(DAY));
    let mut out: Vec<Expiring> = certs
        .into_iter()
        .filter(|(_, c)| c.not_after_unix >= cx.checked_at && c.not_after_unix <= until)
        .map(|(role, c)| Expiring {
            role,
            days_left: (c.not_after_unix - cx.checked_at) / DAY,
            subject: c.subject,
            not_after: c.not_after,
        })
        .collect();
    out.sort_by_key(|e| e.days_left);
    out
}

fn role(index: usize, anchor: bool) -> &'static str {
    match (index, anchor) {
        (_, true) => "trust anchor",
        (0, false) => "server certificate",
        _ => "intermediate",
    }
}

/// The facts of `cert_expires_soon`: one per certificate, with the days left.
pub(in crate::classify) fn facts(ev: &Evidence, cx: &Context<'_>) -> Vec<String> {
    expiring(ev, cx)
        .into_iter()
        .map(|e| {
            format!(
                "{} {} expires {} ({} day{} left, within --warn-days {})",
                e.role,
                e.subject,
                e.not_after,
                e.days_left,
                if e.days_left == 1 { "" } else { "s" },
                cx.warn_days
            )
        })
        .collect()
}
