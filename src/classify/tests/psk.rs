//! Table tests of the PSK rules, from the alerts mosquitto (OpenSSL 3) was measured to send:
//! TLS 1.2 unknown identity 115, wrong key 20; TLS 1.3 unknown identity 40, wrong key 47.

use super::*;
use crate::classify::Confidence;
use crate::evidence::psk::{PskEvidence, PskProbe};

fn with_psk(mut e: Evidence, offered: bool) -> Evidence {
    e.psk = Some(PskEvidence {
        identity: "dev1".into(),
        supported: true,
        offered,
        hint: None,
        used: false,
    });
    e
}

fn follow_up(alert: Option<u8>, psk_chosen: bool, throwaway: bool) -> Option<PskProbe> {
    Some(PskProbe {
        identity: if throwaway { "mqtls-psk-probe" } else { "dev1" }.into(),
        throwaway,
        psk_chosen,
        completed: false,
        cipher: psk_chosen.then(|| "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384".into()),
        hint: psk_chosen.then(|| "mqtls-lab".into()),
        alert: alert.map(|code| Alert { code }),
        detail: None,
    })
}

fn with_follow_up(psk: Option<PskProbe>) -> Extra {
    Extra {
        psk,
        ..Extra::default()
    }
}

#[test]
fn psk_rules_have_positive_and_negative_rows() {
    let mut unsupported = Evidence::new(Backend::Rustls, "rustls".into());
    unsupported.phase = Phase::Tls;
    unsupported.psk = Some(PskEvidence {
        identity: "dev1".into(),
        ..PskEvidence::default()
    });
    let mut psk_ok = with_psk(ok(), true);
    if let Some(p) = psk_ok.psk.as_mut() {
        p.used = true;
    }
    let mut cert_answer = with_psk(rejected(CertProblem::UnknownIssuer, vec![leaf()]), true);
    cert_answer.tls.version = Some("TLSv1.3".into());
    let mut plain_40_with_cert = alert(40, false);
    plain_40_with_cert.peer_chain = vec![leaf()];

    let rows: Vec<(&str, Evidence, Extra, C, Confidence)> = vec![
        (
            "rustls: not supported",
            unsupported,
            Extra::default(),
            C::NotSupportedByStack,
            Confidence::Confirmed,
        ),
        (
            "psk handshake that worked stays ok",
            psk_ok,
            Extra::default(),
            C::Ok,
            Confidence::Confirmed,
        ),
        // Unknown identity.
        (
            "tls1.2 alert 115",
            with_psk(alert(115, false), true),
            Extra::default(),
            C::PskIdentityUnknown,
            Confidence::Confirmed,
        ),
        (
            "tls1.3 alert 40, follow-up 115",
            with_psk(alert(40, false), true),
            with_follow_up(follow_up(Some(115), false, false)),
            C::PskIdentityUnknown,
            Confidence::Confirmed,
        ),
        (
            "tls1.3 alert 40, 1.3-only broker",
            with_psk(alert(40, false), true),
            with_follow_up(follow_up(Some(70), false, false)),
            C::PskIdentityUnknown,
            Confidence::Likely,
        ),
        // Wrong key.
        (
            "tls1.2 alert 20",
            with_psk(alert(20, false), true),
            Extra::default(),
            C::PskKeyMismatch,
            Confidence::Confirmed,
        ),
        (
            "tls1.3 alert 47, follow-up 20",
            with_psk(alert(47, false), true),
            with_follow_up(follow_up(Some(20), true, false)),
            C::PskKeyMismatch,
            Confidence::Confirmed,
        ),
        (
            "tls1.3 alert 47, 1.3-only broker",
            with_psk(alert(47, false), true),
            with_follow_up(follow_up(Some(70), false, false)),
            C::PskKeyMismatch,
            Confidence::Likely,
        ),
        // The broker serves certificates.
        (
            "certificate answer, no psk suite",
            cert_answer.clone(),
            with_follow_up(follow_up(Some(40), false, false)),
            C::PskNotAccepted,
            Confidence::Confirmed,
        ),
        (
            "certificate answer, undecided",
            cert_answer,
            Extra::default(),
            C::PskNotAccepted,
            Confidence::Likely,
        ),
        // TLS 1.2 only, no PSK suite chosen: the key was never asked for.
        (
            "tls1.2 alert 40, key never asked, follow-up 40",
            with_psk(alert(40, false), false),
            with_follow_up(follow_up(Some(40), false, false)),
            C::PskCipherMismatch,
            Confidence::Confirmed,
        ),
        (
            "tls1.2 alert 40, key never asked, no follow-up",
            with_psk(alert(40, false), false),
            Extra::default(),
            C::PskCipherMismatch,
            Confidence::Likely,
        ),
        // The broker wants PSK.
        (
            "no psk, 40, throwaway gets 115",
            alert(40, false),
            with_follow_up(follow_up(Some(115), true, true)),
            C::PskRequired,
            Confidence::Confirmed,
        ),
    ];
    for (name, ev, extra, want, confidence) in rows {
        let v = verdict(&ev, &extra);
        assert_eq!(v.diagnosis.code, want, "{name}: {:#?}", v.diagnosis);
        assert_eq!(v.diagnosis.confidence, confidence, "{name}");
        if confidence == Confidence::Likely {
            assert!(
                v.diagnosis.facts.iter().any(|f| f.contains("follow-up")),
                "{name}: a likely reading says what could not be checked"
            );
        }
    }

    // Must not fire.
    let not: Vec<(&str, Evidence, Extra, C)> = vec![
        // Alert 115 without a PSK offered is not about an identity mqtls sent.
        (
            "115 without psk",
            alert(115, false),
            Extra::default(),
            C::PskIdentityUnknown,
        ),
        // bad_record_mac on a certificate handshake is a broken record layer, not a key.
        (
            "20 without psk",
            alert(20, false),
            Extra::default(),
            C::PskKeyMismatch,
        ),
        // TLS 1.2 wrong key: the follow-up names the key, so it is not the identity.
        (
            "40 then follow-up 20",
            with_psk(alert(40, false), true),
            with_follow_up(follow_up(Some(20), true, false)),
            C::PskIdentityUnknown,
        ),
        // The broker does speak PSK in TLS 1.2 with this key: not "certificates only".
        (
            "cert answer but psk works in 1.2",
            with_psk(rejected(CertProblem::UnknownIssuer, vec![leaf()]), true),
            with_follow_up(Some(PskProbe {
                completed: true,
                ..follow_up(None, true, false).expect("row")
            })),
            C::PskNotAccepted,
        ),
        // A handshake_failure after the broker sent its certificate is not a PSK-only broker.
        (
            "40 with a certificate, no psk",
            plain_40_with_cert,
            with_follow_up(follow_up(Some(40), false, true)),
            C::PskRequired,
        ),
        // The throwaway probe got handshake_failure: the broker has no PSK suites either.
        (
            "40, throwaway refused too",
            alert(40, false),
            with_follow_up(follow_up(Some(40), false, true)),
            C::PskRequired,
        ),
        // The key went out (TLS 1.3): not a cipher-suite problem.
        (
            "40 with the key sent",
            with_psk(alert(40, false), true),
            Extra::default(),
            C::PskCipherMismatch,
        ),
        // The key was never asked for: not an identity the broker saw.
        (
            "40, key never asked",
            with_psk(alert(40, false), false),
            with_follow_up(follow_up(Some(70), false, false)),
            C::PskIdentityUnknown,
        ),
        // No follow-up ran: nothing says the broker speaks PSK.
        (
            "40, no follow-up",
            alert(40, false),
            Extra::default(),
            C::PskRequired,
        ),
    ];
    for (name, ev, extra, must_not) in not {
        assert_ne!(code(ev, extra), must_not, "{name}");
    }
}

#[test]
fn psk_follow_up_is_planned_for_psk_failures_and_bare_handshake_failures() {
    let plan = |ev: Evidence| {
        plan_follow_ups(&[ev], None, "localhost", crate::evidence::MqttVersion::V311).psk
    };
    assert!(plan(with_psk(alert(47, false), true)));
    assert!(plan(alert(40, false)));
    let mut requested = alert(40, false);
    requested.client_cert_requested = Some(true);
    assert!(
        !plan(requested),
        "a refused client certificate is not about PSK"
    );
    let mut with_cert = alert(40, false);
    with_cert.peer_chain = vec![leaf()];
    assert!(
        !plan(with_cert),
        "a broker that sent a certificate is no PSK-only broker"
    );
    assert!(!plan(with_psk(ok(), true)));
    assert!(!plan(rejected(CertProblem::UnknownIssuer, vec![leaf()])));
}

#[test]
fn a_connection_on_certificates_despite_a_psk_warns() {
    let unused = with_psk(ok(), false);
    let v = verdict(&unused, &Extra::default());
    assert_eq!(v.diagnosis.code, C::Ok);
    assert!(v.warnings.contains(&C::PskNotAccepted), "{:?}", v.warnings);
    let mut used = with_psk(ok(), true);
    if let Some(p) = used.psk.as_mut() {
        p.used = true;
    }
    assert!(
        !verdict(&used, &Extra::default())
            .warnings
            .contains(&C::PskNotAccepted)
    );
    assert!(
        !verdict(&ok(), &Extra::default())
            .warnings
            .contains(&C::PskNotAccepted)
    );
}
