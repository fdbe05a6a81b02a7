//! Tests of `explain`: every table example, real messages per stack, unseen variants, unknown
//! text, and `--log` grouping.

use crate::classify::DiagnosisCode as C;

use super::RejectedBy::{Local, None as Nobody, Peer};
use super::*;
use crate::report::explain::{render_json, render_text};

fn first(text: &str) -> (C, RejectedBy) {
    let e = explain(text);
    let m = e
        .matches
        .first()
        .unwrap_or_else(|| panic!("no match for {text:?}"));
    (m.code, m.rejected_by)
}

fn assert_first(stack: &str, text: &str, code: C, side: RejectedBy) {
    let got = first(text);
    assert_eq!(
        got,
        (code, side),
        "[{stack}] {text:?}: got {got:?}, every reading: {:?}",
        explain(text)
            .matches
            .iter()
            .map(|m| (m.code, m.rejected_by, m.stack.as_str()))
            .collect::<Vec<_>>()
    );
}

/// (1) Every row's example maps to the row's own code and side. Rows that share their example
/// with an earlier row are the alternative readings of that text: they must be listed too.
#[test]
fn every_table_example_maps_to_its_row() {
    for (i, row) in PATTERNS.iter().enumerate() {
        let e = explain(row.example);
        let earlier = PATTERNS[..i]
            .iter()
            .any(|r| r.example == row.example && (r.code, r.side) != (row.code, row.side));
        if earlier {
            assert!(
                e.matches
                    .iter()
                    .any(|m| m.code == row.code && m.rejected_by == row.side),
                "row {i} ({}) {:?} lacks its alternative reading {:?}",
                row.stack,
                row.example,
                row.code
            );
        } else {
            assert_first(row.stack, row.example, row.code, row.side);
        }
        assert!(
            row.needles.iter().all(|n| *n == n.to_ascii_lowercase()),
            "row {i}: needles must be lower case"
        );
    }
}

#[test]
fn every_stack_has_at_least_five_rows() {
    for stack in [
        "openssl",
        "rustls",
        "python",
        "mosquitto",
        "erlang",
        "go",
        "java",
        "nodejs",
        "dotnet",
        "mbedtls",
        "wolfssl",
    ] {
        let n = PATTERNS.iter().filter(|p| p.stack == stack).count();
        assert!(n >= 5, "{stack}: only {n} rows");
    }
}

/// (2) Real messages, at least five per stack, from the failure catalogue (reproduced runs and
/// public issues) and the stacks' own sources; most are not the table's examples.
#[rustfmt::skip]
const REAL: &[(&str, &str, C, RejectedBy)] = &[
    // OpenSSL 1.0.2 / 1.1.1 / 3.x
    ("openssl", "depth=0 CN = localhost\nverify error:num=20:unable to get local issuer certificate\nverify return:1", C::UnknownCa, Local),
    ("openssl", "error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed", C::UnknownCa, Local),
    ("openssl", "error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed", C::UnknownCa, Local),
    ("openssl", "140735233:error:14090086:SSL routines:ssl3_get_server_certificate:certificate verify failed:s3_clnt.c:1264:", C::UnknownCa, Local),
    ("openssl", "verify error:num=62:hostname mismatch", C::HostnameMismatch, Local),
    ("openssl", "error 24 at 1 depth lookup: invalid CA certificate", C::IssuerNotCa, Local),
    ("openssl", "error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../ssl/record/rec_layer_s3.c:1605:SSL alert number 116", C::ClientCertRequired, Peer),
    ("openssl", "error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../ssl/record/rec_layer_s3.c:1605:SSL alert number 48", C::ClientCertUnknownCa, Peer),
    ("openssl", "Verify return code: 10 (certificate has expired)", C::ServerCertExpired, Local),
    ("openssl", "error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:ssl/record/rec_layer_s3.c:1605:SSL alert number 70", C::TlsVersionMismatch, Peer),
    // rustls / webpki / rumqttc
    ("rustls", "TLS: I/O: invalid peer certificate: UnknownIssuer", C::UnknownCa, Local),
    ("rustls", "Tls(Io(Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }))", C::UnknownCa, Local),
    ("rustls", "Network(Io(Custom { kind: InvalidData, error: WebPKIError(UnknownIssuer) }))", C::UnknownCa, Local),
    ("rustls", "I/O: invalid peer certificate: Other(OtherError(UnsupportedCertVersion))", C::X509V1Cert, Local),
    ("rustls", "invalid peer certificate: certificate not valid for name \"127.0.0.1\"; certificate is only valid for DnsName(\"localhost\")", C::IpNotInSan, Local),
    ("rustls", "InvalidCertificate(NotValidForNameContext { expected: DnsName(\"localhost\"), presented: [\"DnsName(\\\"broker.example.com\\\")\"] })", C::HostnameMismatch, Local),
    ("rustls", "Mqtt state: Io error: Custom { kind: InvalidData, error: AlertReceived(CertificateRequired) }", C::ClientCertRequired, Peer),
    ("rustls", "received fatal alert: UnknownCA", C::ClientCertUnknownCa, Peer),
    ("rustls", "received fatal alert: CertificateRevoked", C::ClientCertRevoked, Peer),
    ("rustls", "received fatal alert: ProtocolVersion", C::TlsVersionMismatch, Peer),
    ("rustls", "Io(Custom { kind: InvalidData, error: \"Broker rejected. Reason = NotAuthorized\" })", C::MqttNotAuthorized, Peer),
    ("rustls", "TLS: I/O: invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))", C::CaCertAsServerCert, Local),
    // Python ssl / paho-mqtt
    ("python", "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)", C::UnknownCa, Local),
    ("python", "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get issuer certificate (_ssl.c:1123)", C::IntermediateAsAnchor, Local),
    ("python", "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'XXXX.iot.eu-west-1.amazonaws.com'. (_ssl.c:1056)", C::HostnameMismatch, Local),
    ("python", "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate is not yet valid (_ssl.c:1006)", C::ServerCertNotYetValid, Local),
    ("python", "ssl.SSLError: [SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:1006)", C::ClientCertUnknownCa, Peer),
    ("python", "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", C::NotTls, Local),
    ("python", "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: invalid CA certificate (_ssl.c:1006)", C::IssuerNotCa, Local),
    ("python", "paho: Connected with result code 5", C::MqttNotAuthorized, Peer),
    // mosquitto: client
    ("mosquitto", "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed\nUnable to connect (A TLS error occurred.).", C::UnknownCa, Local),
    ("mosquitto", "Error: host name verification failed.\nOpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed\nUnable to connect (A TLS error occurred.).", C::HostnameMismatch, Local),
    ("mosquitto", "Connection error: Connection Refused: not authorised.\nError: The connection was refused.", C::MqttNotAuthorized, Peer),
    ("mosquitto", "OpenSSL Error: error:14094413:SSL routines:ssl3_read_bytes:sslv3 alert unsupported certificate\nError: A TLS error occurred.", C::ClientCertRejected, Peer),
    ("mosquitto", "Error: Connection refused", C::ConnectionRefused, Nobody),
    // mosquitto: broker
    ("mosquitto", "1732600000: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca\n1732600000: Client <unknown> disconnected: Protocol error.", C::UnknownCa, Peer),
    ("mosquitto", "OpenSSL Error: error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca\nSocket error on client <unknown>, disconnecting.", C::UnknownCa, Peer),
    ("mosquitto", "1732600000: OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed\n1732600000: Client <unknown> disconnected: Protocol error.", C::ClientCertUnknownCa, Local),
    ("mosquitto", "1732600000: OpenSSL Error[0]: error:0A0000C7:SSL routines::peer did not return a certificate\n1732600000: Client <unknown> disconnected: Protocol error.", C::ClientCertRequired, Local),
    ("mosquitto", "1732600000: Client connection from 127.0.0.1 failed: error:0A00010B:SSL routines::wrong version number.", C::NotTls, Local),
    ("mosquitto", "1732600000: OpenSSL Error[0]: error:0A000412:SSL routines::sslv3 alert bad certificate\n1732600000: Client <unknown> disconnected: Protocol error.", C::HostnameMismatch, Peer),
    ("mosquitto", "1732600000: Sending CONNACK to 127.0.0.1 (0, 5)\n1732600000: Client <unknown> disconnected, not authorised.", C::MqttNotAuthorized, Local),
    ("mosquitto", "error:1417C086:SSL routines:tls_process_client_certificate:certificate verify failed\nClient <unknown> disconnected: Protocol error.", C::ClientCertUnknownCa, Local),
    // Erlang/OTP as logged by EMQX, RabbitMQ, VerneMQ
    ("erlang", "{tls_alert,{unknown_ca,\"TLS client: In state wait_cert_cr at ssl_handshake.erl:2111 generated CLIENT ALERT: Fatal - Unknown CA\\n\"}}", C::UnknownCa, Local),
    ("erlang", "2024-05-01 10:00:00.123 [error] <0.1234.0> TLS server: In state wait_finished received CLIENT ALERT: Fatal - Unknown CA", C::UnknownCa, Peer),
    ("erlang", "TLS server: In state certify at ssl_handshake.erl:1626 generated SERVER ALERT: Fatal - Unknown CA", C::ClientCertUnknownCa, Local),
    ("erlang", "TLS client: In state connection received SERVER ALERT: Fatal - Unknown CA", C::ClientCertUnknownCa, Peer),
    ("erlang", "{tls_alert,{handshake_failure,\"TLS client: In state wait_cert_cr at ssl_handshake.erl:2113 generated CLIENT ALERT: Fatal - Handshake Failure\\n {bad_cert,hostname_check_failed}\"}}", C::HostnameMismatch, Local),
    ("erlang", "TLS server: In state hello at tls_handshake.erl:332 generated SERVER ALERT: Fatal - Protocol Version", C::TlsVersionMismatch, Local),
    ("erlang", "{tls_alert,{certificate_required,\"TLS server: In state wait_cert at tls_handshake_1_3.erl:1484 generated SERVER ALERT: Fatal - Certificate required\\n certificate_required\"}}", C::ClientCertRequired, Local),
    ("erlang", "{ssl_error,{tls_alert,\"unknown ca\"}}", C::UnknownCa, Peer),
    ("erlang", "TLS server: In state wait_finished received CLIENT ALERT: Fatal - Certificate Unknown", C::UnknownCa, Peer),
    // Go crypto/tls and x509
    ("go", "tls: failed to verify certificate: x509: certificate signed by unknown authority", C::UnknownCa, Local),
    ("go", "x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\" while trying to verify candidate authority certificate \"Lab Root CA\")", C::UnknownCa, Local),
    ("go", "x509: certificate is valid for broker.example.com, not localhost", C::HostnameMismatch, Local),
    ("go", "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs", C::IpNotInSan, Local),
    ("go", "x509: certificate has expired or is not yet valid: current time 2026-11-25T10:00:00Z is after 2025-02-23T12:00:00Z", C::ServerCertExpired, Local),
    ("go", "remote error: tls: certificate required", C::ClientCertRequired, Peer),
    ("go", "http: TLS handshake error from 10.0.0.5:51234: remote error: tls: unknown certificate authority", C::UnknownCa, Peer),
    ("go", "network Error : tls: first record does not look like a TLS handshake", C::NotTls, Local),
    // Java JSSE
    ("java", "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target", C::UnknownCa, Local),
    ("java", "javax.net.ssl.SSLHandshakeException: Received fatal alert: unknown_ca", C::ClientCertUnknownCa, Peer),
    ("java", "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_required", C::ClientCertRequired, Peer),
    ("java", "javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure", C::ClientCertRequired, Peer),
    ("java", "javax.net.ssl.SSLHandshakeException: No subject alternative DNS name matching broker.local found.", C::HostnameMismatch, Local),
    ("java", "java.security.cert.CertificateException: No subject alternative names present", C::CnOnlyNoSan, Local),
    ("java", "sun.security.validator.ValidatorException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed\nCaused by: java.security.cert.CertificateExpiredException: NotAfter: Sun Feb 23 12:00:00 UTC 2025", C::ServerCertExpired, Local),
    ("java", "javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version", C::TlsVersionMismatch, Peer),
    // Node.js
    ("nodejs", "Error: unable to verify the first certificate\n    at TLSSocket.onConnectSecure (node:_tls_wrap:1659:34) {\n  code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'\n}", C::MissingIntermediate, Local),
    ("nodejs", "Error: self-signed certificate in certificate chain { code: 'SELF_SIGNED_CERT_IN_CHAIN' }", C::UnknownCa, Local),
    ("nodejs", "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: mqtt.example.org. is not in the cert's altnames: DNS:localhost", C::HostnameMismatch, Local),
    ("nodejs", "Error: certificate has expired\n    at TLSSocket.onConnectSecure (node:_tls_wrap:1530:34) { code: 'CERT_HAS_EXPIRED' }", C::ServerCertExpired, Local),
    ("nodejs", "Error: self signed certificate { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }", C::SelfSignedServerCert, Local),
    ("nodejs", "Error: connect ECONNREFUSED 127.0.0.1:8883", C::ConnectionRefused, Nobody),
    ("nodejs", "Error: 80F8B8D2:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1605:SSL alert number 48", C::ClientCertUnknownCa, Peer),
    ("nodejs", "Error: Connection refused: Not authorized", C::MqttNotAuthorized, Peer),
    // .NET
    ("dotnet", "System.Security.Authentication.AuthenticationException: The remote certificate is invalid according to the validation procedure: RemoteCertificateNameMismatch", C::HostnameMismatch, Local),
    ("dotnet", "The remote certificate is invalid because of errors in the certificate chain: UntrustedRoot", C::UnknownCa, Local),
    ("dotnet", "The remote certificate is invalid because of errors in the certificate chain: NotTimeValid", C::ServerCertExpired, Local),
    ("dotnet", "The remote certificate is invalid according to the validation procedure: RemoteCertificateChainErrors", C::UnknownCa, Local),
    ("dotnet", "MQTTnet.Adapter.MqttConnectingFailedException: Connecting with MQTT server failed (NotAuthorized).", C::MqttNotAuthorized, Peer),
    ("dotnet", "System.Net.Sockets.SocketException (10061): No connection could be made because the target machine actively refused it.", C::ConnectionRefused, Nobody),
    // mbedTLS / ESP-IDF
    ("mbedtls", "E (5310) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x2700\nI (5310) esp-tls-mbedtls: Certificate verified.\nE (5320) esp-tls-mbedtls: Failed to verify peer certificate!", C::UnknownCa, Local),
    ("mbedtls", "E (12345) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x2700\nW (12345) esp-tls-mbedtls: Failed to verify peer certificate!\nI (12345) esp-tls-mbedtls: verification info: ! The certificate validity starts in the future", C::ServerCertNotYetValid, Local),
    ("mbedtls", "verification info: ! The certificate Common Name (CN) does not match with the expected CN", C::HostnameMismatch, Local),
    ("mbedtls", "! The certificate is not correctly signed by the trusted CA", C::UnknownCa, Local),
    ("mbedtls", "mbedtls_ssl_handshake returned -0x2700 ... ! The certificate validity has expired", C::ServerCertExpired, Local),
    ("mbedtls", "E (8520) esp-tls-mbedtls: mbedtls_ssl_handshake returned -0x7780", C::ClientCertRequired, Peer),
    // wolfSSL
    ("wolfssl", "wolfSSL_connect error -188, ASN no signer error to confirm failure", C::UnknownCa, Local),
    ("wolfssl", "MqttSocket_Connect: wolfSSL error -322 (peer subject name mismatch)", C::HostnameMismatch, Local),
    ("wolfssl", "wolfSSL error: ASN date error, current date after", C::ServerCertExpired, Local),
    ("wolfssl", "wolfSSL error: ASN date error, current date before", C::ServerCertNotYetValid, Local),
    ("wolfssl", "wolfSSL_connect error -313, received alert fatal error", C::ClientCertRejected, Peer),
    ("wolfssl", "wolfSSL_accept error -501, can't match cipher suite", C::NoSharedCipher, Local),
];

#[test]
fn real_messages_map_to_code_and_side() {
    for (stack, text, code, side) in REAL {
        assert_first(stack, text, *code, *side);
    }
    for stack in [
        "openssl",
        "rustls",
        "python",
        "mosquitto",
        "erlang",
        "go",
        "java",
        "nodejs",
        "dotnet",
        "mbedtls",
        "wolfssl",
    ] {
        let n = REAL.iter().filter(|r| r.0 == stack).count();
        assert!(n >= 5, "{stack}: only {n} real messages");
    }
}

/// (3) Wordings not in the table: other hosts, versions, casing, surrounding noise.
#[test]
fn unseen_variants_still_map() {
    let cases: &[(&str, C, RejectedBy)] = &[
        (
            "ERROR: TLS: I/O: INVALID PEER CERTIFICATE: UNKNOWNISSUER",
            C::UnknownCa,
            Local,
        ),
        (
            "Error: Io(Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }) while connecting to mqtts://iot.example.net:8883",
            C::UnknownCa,
            Local,
        ),
        (
            "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'mqtt.prod.internal'. (_ssl.c:1147)",
            C::HostnameMismatch,
            Local,
        ),
        (
            "x509: certificate is valid for *.example.org, example.org, not mqtt.example.com",
            C::HostnameMismatch,
            Local,
        ),
        (
            "verify error:num=10:certificate has expired\nnotAfter=Feb 23 12:00:00 2025 GMT",
            C::ServerCertExpired,
            Local,
        ),
        (
            "2025-01-05 08:00:01.999 [notice] <0.9876.0> TLS server: In state certify received CLIENT ALERT: Fatal - Unknown CA",
            C::UnknownCa,
            Peer,
        ),
        (
            "SSL routines:ssl3_read_bytes:sslv3 alert certificate expired:s3_pkt.c:1493:SSL alert number 45",
            C::ClientCertExpired,
            Peer,
        ),
        (
            "error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:SSL alert number 40",
            C::ClientCertRequired,
            Peer,
        ),
        ("error:0A000418", C::ClientCertUnknownCa, Peer),
        (
            "1700000000: OpenSSL Error[0]: error:14094416:SSL routines:ssl3_read_bytes:sslv3 alert certificate unknown\n1700000000: Client <unknown> disconnected: Protocol error.",
            C::X509V1Cert,
            Peer,
        ),
        (
            "javax.net.ssl.SSLHandshakeException: Received fatal alert: bad_certificate",
            C::ClientCertRejected,
            Peer,
        ),
        ("X509_V_ERR_HOSTNAME_MISMATCH", C::HostnameMismatch, Local),
        (
            "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 10.1.2.3 is not in the cert's list: ",
            C::IpNotInSan,
            Local,
        ),
        (
            "invalid peer certificate: certificate not valid for name \"fd00::1\"; certificate is only valid for DnsName(\"broker\")",
            C::IpNotInSan,
            Local,
        ),
    ];
    for (text, code, side) in cases {
        assert_first("variant", text, *code, *side);
    }
}

/// An alert with no context is ranked both ways, the client's reading first; a mosquitto line
/// leans to the broker reading.
#[test]
fn alert_without_context_ranks_both_readings() {
    let e = explain("tlsv1 alert unknown ca");
    let codes: Vec<C> = e.matches.iter().map(|m| m.code).collect();
    // A broker received unknown_ca: the client found no path to its CA file, whether the root
    // is missing, the intermediate was not sent, or the CA file holds the broker's leaf.
    let broker = [C::UnknownCa, C::MissingIntermediate, C::ServerCertAsCa];
    assert_eq!(codes, [&[C::ClientCertUnknownCa][..], &broker].concat());
    let e = explain("OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca");
    let codes: Vec<C> = e.matches.iter().map(|m| m.code).collect();
    assert_eq!(codes, [&broker[..], &[C::ClientCertUnknownCa]].concat());
}

#[test]
fn confirm_names_the_host_and_client_files() {
    let e = explain("x509: certificate is valid for broker.example.com, not mqtt.example.org");
    assert_eq!(
        e.matches[0].confirm,
        "mqtls diagnose mqtts://mqtt.example.org:8883 --cafile ca.crt"
    );
    let e = explain("received fatal alert: CertificateRequired");
    assert!(
        e.matches[0]
            .confirm
            .ends_with("--cert client.crt --key client.key")
    );
}

/// (4) Unknown text says so.
#[test]
fn unknown_text_has_no_match() {
    for text in [
        "",
        "hello world",
        "everything is fine",
        "Connected to broker",
        "404 Not Found",
    ] {
        assert!(explain(text).matches.is_empty(), "{text:?}");
    }
    let mut out = Vec::new();
    render_text(&explain("hello"), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("does not recognise"));
    assert!(out.contains("mqtls diagnose mqtts://HOST:8883 --cafile ca.crt"));
}

/// (5) `--log` on a mosquitto log: grouped by client address and cause, with counts.
#[test]
fn log_groups_mosquitto_failures() {
    let log = "\
1732600000: mosquitto version 2.0.11 running
1732600001: New connection from 10.0.0.5:54321 on port 8883.
1732600001: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca
1732600001: Client <unknown> disconnected: Protocol error.
1732600002: New connection from 10.0.0.5:54322 on port 8883.
1732600002: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca
1732600002: OpenSSL Error[1]: error:0A000418:SSL routines::tlsv1 alert unknown ca
1732600002: Client <unknown> disconnected: Protocol error.
1732600003: New connection from 192.168.1.20:40000 on port 8883.
1732600003: OpenSSL Error[0]: error:0A0000C7:SSL routines::peer did not return a certificate
1732600003: Client <unknown> disconnected: Protocol error.
1732600004: New connection from 192.168.1.21:40001 on port 8883.
1732600004: OpenSSL Error[0]: error:0A000126:SSL routines::unexpected eof while reading
1732600004: Client <unknown> closed its connection.
1732600005: Client connection from 127.0.0.1 failed: error:0A00010B:SSL routines::wrong version number.
";
    let r = log::explain_log(log);
    assert_eq!(r.failures, 4, "{r:#?}");
    let groups: Vec<(&str, C, RejectedBy, usize)> = r
        .groups
        .iter()
        .map(|g| (g.client.as_str(), g.code, g.rejected_by, g.count))
        .collect();
    assert_eq!(
        groups,
        vec![
            ("10.0.0.5", C::UnknownCa, Peer, 2),
            ("127.0.0.1", C::NotTls, Local, 1),
            ("192.168.1.20", C::ClientCertRequired, Local, 1),
        ]
    );
}

/// `--log` on Erlang logs (RabbitMQ with a preceding connection line, EMQX with `peername`).
#[test]
fn log_groups_erlang_failures() {
    let log = "\
2025-01-05 08:00:00.100 [info] <0.900.0> accepting MQTT connection 10.0.0.7:50001 -> 10.0.0.1:8883
2025-01-05 08:00:00.200 [notice] <0.900.0> TLS server: In state wait_finished received CLIENT ALERT: Fatal - Unknown CA
2025-01-05 08:00:01.100 [info] <0.901.0> accepting MQTT connection 10.0.0.7:50002 -> 10.0.0.1:8883
2025-01-05 08:00:01.200 [notice] <0.901.0> TLS server: In state wait_finished received CLIENT ALERT: Fatal - Unknown CA
2025-01-05T08:00:02.000+00:00 [error] supervisor: 'esockd_connection_sup - <0.902.0>', reason: {ssl_error,{tls_alert,{unknown_ca,\"TLS server: In state certify at ssl_handshake.erl:2138 generated SERVER ALERT: Fatal - Unknown CA\\n\"}}}, peername: 10.0.0.9:61000
";
    let r = log::explain_log(log);
    let groups: Vec<(&str, C, RejectedBy, usize)> = r
        .groups
        .iter()
        .map(|g| (g.client.as_str(), g.code, g.rejected_by, g.count))
        .collect();
    assert_eq!(
        groups,
        vec![
            ("10.0.0.7", C::UnknownCa, Peer, 2),
            ("10.0.0.9", C::ClientCertUnknownCa, Local, 1),
        ]
    );
}

#[test]
fn json_has_the_documented_shape() {
    let mut out = Vec::new();
    render_json(
        &explain("x509: certificate signed by unknown authority"),
        &mut out,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["matches"][0]["code"], "unknown_ca");
    assert_eq!(v["matches"][0]["stack"], "go");
    assert_eq!(v["matches"][0]["rejected_by"], "local");
    assert!(
        v["matches"][0]["next_steps"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
}

/// Fuzzing regression: `error N` repeated with no ` at ` after it made the verify-number
/// extractor search the whole text once per occurrence (400 KB took 31 s). The ` at ` must
/// follow the number where it stands.
#[test]
fn error_numbers_without_at_are_linear() {
    assert_eq!(
        first("error 24 at 1 depth lookup: invalid CA certificate"),
        (C::IssuerNotCa, Local)
    );
    assert!(explain("error 24 then 1 depth lookup").matches.is_empty());
    let text = "error 1 ".repeat(200_000);
    let started = std::time::Instant::now();
    assert!(explain(&text).matches.is_empty());
    // Quadratic, this took minutes; linear, well under a second even unoptimised.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// Fuzzing regression: one number or alert name repeated on one line gave one hit per
/// repetition, each built into a match with a scan for its line (960 KB of `error:0a000418: `
/// took 25 s). Repeats are dropped where they are found; the readings stay the same.
#[test]
fn repeated_numbers_give_the_readings_of_one() {
    let codes = |text: &str| -> Vec<(C, RejectedBy)> {
        explain(text)
            .matches
            .iter()
            .map(|m| (m.code, m.rejected_by))
            .collect()
    };
    let groups = |text: &str| -> Vec<(C, RejectedBy, usize)> {
        log::explain_log(text)
            .groups
            .iter()
            .map(|g| (g.code, g.rejected_by, g.count))
            .collect()
    };
    for one in [
        "verify error:num=20 ",
        "error:0A000418:SSL routines::tlsv1 alert unknown ca ",
        "received fatal alert: UnknownCA ",
        "SSL alert number 48 ",
    ] {
        let many = one.repeat(1_000);
        let lower = |t: &str| t.to_ascii_lowercase();
        assert!(!patterns::extract(&lower(one)).is_empty(), "{one:?}");
        assert_eq!(
            patterns::extract(&lower(&many)).len(),
            patterns::extract(&lower(one)).len(),
            "{one:?}"
        );
        assert_eq!(codes(&many), codes(one), "{one:?}");
        assert_eq!(groups(&many), groups(one), "{one:?}");
    }
}

/// The reasons the stacks give for refusing a chain, in their own words (x509-limbo's rustls
/// harness contexts, `openssl verify` lines), read as the codes the probe gives them.
#[test]
fn the_stacks_reasons_map_to_their_codes() {
    #[rustfmt::skip]
    let rows: &[(&str, C)] = &[
        ("error 47 at 0 depth lookup: permitted subtree violation", C::NameConstraintViolation),
        ("error 48 at 0 depth lookup: excluded subtree violation", C::NameConstraintViolation),
        ("error 51 at 0 depth lookup: unsupported name constraint type", C::NameConstraintViolation),
        ("error 53 at 0 depth lookup: unsupported or invalid name syntax", C::NameConstraintViolation),
        ("error 25 at 2 depth lookup: path length constraint exceeded", C::PathLengthExceeded),
        ("error 22 at 1 depth lookup: certificate chain too long", C::ChainTooLong),
        ("error 34 at 1 depth lookup: unhandled critical extension", C::UnknownCriticalExtension),
        ("error 7 at 0 depth lookup: certificate signature failure", C::BadSignature),
        ("error 94 at 0 depth lookup: Certificate public key has explicit ECC parameters", C::MalformedCertificate),
        ("Verify return code: 47 (permitted subtree violation)", C::NameConstraintViolation),
        // A CA's EKU (depth >= 1) vs the leaf's (depth 0).
        ("error 26 at 1 depth lookup: unsuitable certificate purpose", C::IntermediateEkuMissing),
        ("error 26 at 0 depth lookup: unsuitable certificate purpose", C::ServerEkuMissing),
        ("NameConstraintViolation", C::NameConstraintViolation),
        ("InvalidNetworkMaskConstraint", C::NameConstraintViolation),
        ("PathLenConstraintViolated", C::PathLengthExceeded),
        ("MaximumPathDepthExceeded", C::ChainTooLong),
        ("MaximumPathBuildCallsExceeded", C::ChainTooComplex),
        ("UnsupportedCriticalExtension", C::UnknownCriticalExtension),
        ("InvalidSignatureForPublicKey", C::BadSignature),
        ("BadDer", C::MalformedCertificate),
        ("MalformedDnsIdentifier", C::MalformedCertificate),
        ("EmptyEkuExtension", C::MalformedCertificate),
        ("invalid peer certificate: BadEncoding", C::MalformedCertificate),
        ("UnsupportedSignatureAlgorithmForPublicKeyContext(UnsupportedSignatureAlgorithmForPublicKeyContext { signature_algorithm_id: [6, 8, 42, 134, 72, 206, 61, 4, 3, 2], public_key_algorithm_id: [6, 7, 42, 134, 72, 206, 56, 4, 1] })", C::UnsupportedAlgorithm),
    ];
    for (text, code) in rows {
        let stack = if text.contains(' ') && !text.starts_with("invalid peer") {
            "openssl"
        } else {
            "rustls"
        };
        assert_first(stack, text, *code, Local);
    }
}

fn readings(text: &str) -> Vec<(C, RejectedBy)> {
    explain(text)
        .matches
        .iter()
        .map(|m| (m.code, m.rejected_by))
        .collect()
}

/// Issue 14: the 2015 note on mosquitto, emqttd and paho that mqtls was written for. Its three
/// messages, each with the reading the note's author found to be the cause.
#[test]
fn the_2015_notes_three_messages() {
    // 1. paho-python on Python 2.7 with no `tls_version` in the `tls` dict.
    let traceback = "  File \"/usr/lib/python2.7/ssl.py\", line 381, in wrap_socket\n    ciphers=ciphers)\n  File \"/usr/lib/python2.7/ssl.py\", line 141, in __init__\n    ciphers)\nTypeError: an integer is required";
    let e = explain(traceback);
    let m = e.matches.first().expect("recognised");
    assert_eq!((m.code, m.rejected_by), (C::TlsVersionMismatch, Nobody));
    assert!(m.meaning.contains("'tls_version'"), "{}", m.meaning);
    assert!(m.meaning.contains("PROTOCOL_TLS_CLIENT"), "{}", m.meaning);
    assert!(m.meaning.contains("tls_set(tls_version="), "{}", m.meaning);

    // 2. mosquitto's log at the same moment: the client dropped out mid-handshake.
    let broker = "OpenSSL Error: error:140780E5:SSL routines:SSL23_READ:ssl handshake failure\nSocket error on client <unknown>, disconnecting.";
    assert_eq!(context_of(broker), Context::Broker);
    let e = explain(broker);
    let m = e.matches.first().expect("recognised");
    assert_eq!((m.code, m.rejected_by), (C::PeerClosed, Nobody));
    assert!(m.meaning.contains("abandoned"), "{}", m.meaning);
    assert!(m.meaning.contains("client's output"), "{}", m.meaning);

    // 3. paho against emqttd whose certfile held only the leaf: the client checking the server.
    let client =
        "error:14090086:SSL routines:SSL3_GET_SERVER_CERTIFICATE:certificate verify failed";
    assert_eq!(context_of(client), Context::Client);
    // The three of the issue first; without the verify result a wrong name or dates may
    // follow, never the broker's check of the client.
    let got = readings(client);
    assert_eq!(
        got.get(..3),
        Some(
            &[
                (C::UnknownCa, Local),
                (C::MissingIntermediate, Local),
                (C::ServerCertAsCa, Local),
            ][..]
        ),
        "{got:?}"
    );
    assert!(got.iter().all(|(_, side)| *side == Local), "{got:?}");
    assert!(
        !got.iter().any(|(c, _)| *c == C::ClientCertUnknownCa),
        "{got:?}"
    );
    // Each reading says how to tell it from the others.
    let checks: Vec<String> = explain(client)
        .matches
        .into_iter()
        .map(|m| m.tell_apart)
        .collect();
    assert!(checks.iter().all(|c| !c.is_empty()));
    assert_eq!(
        checks
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        checks.len(),
        "{checks:#?}"
    );
}

/// The OpenSSL function that failed tells who checked whom, by name (1.0.x upper case, 1.1.x
/// and 3.x lower case, LibreSSL state names) or by the number inside a `14xxxxxx` code.
#[rustfmt::skip]
const FUNCTIONS: &[(&str, C, RejectedBy)] = &[
    ("error:14090086:SSL routines:SSL3_GET_SERVER_CERTIFICATE:certificate verify failed", C::UnknownCa, Local),
    ("error:14090086", C::UnknownCa, Local),
    ("error:14089086:SSL routines:SSL3_GET_CLIENT_CERTIFICATE:certificate verify failed", C::ClientCertUnknownCa, Local),
    ("error:14089086", C::ClientCertUnknownCa, Local),
    ("error:1417C086:SSL routines:tls_process_client_certificate:certificate verify failed", C::ClientCertUnknownCa, Local),
    ("error:1416F086:SSL routines:tls_process_server_certificate:certificate verify failed", C::UnknownCa, Local),
    ("error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed", C::UnknownCa, Local),
    ("error:140890C7:SSL routines:SSL3_GET_CLIENT_CERTIFICATE:peer did not return a certificate", C::ClientCertRequired, Local),
    ("error:140770FC:SSL routines:SSL23_GET_SERVER_HELLO:unknown protocol", C::NotTls, Local),
    ("error:140760FC:SSL routines:SSL23_GET_CLIENT_HELLO:unknown protocol", C::NotTls, Local),
    ("error:140780E5:SSL routines:SSL23_READ:ssl handshake failure", C::PeerClosed, Nobody),
    ("error:1408A0C1:SSL routines:ssl3_get_client_hello:no shared cipher", C::NoSharedCipher, Local),
    ("error:1400410B:SSL routines:CONNECT_CR_SRVR_HELLO:wrong version number", C::NotTls, Local),
    ("error:1404B42E:SSL routines:ST_CONNECT:tlsv1 alert protocol version", C::TlsVersionMismatch, Peer),
    ("error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca", C::ClientCertUnknownCa, Peer),
    ("error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER", C::NotTls, Local),
    ("error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED", C::UnknownCa, Local),
    ("error:10000412:SSL routines:OPENSSL_internal:SSLV3_ALERT_BAD_CERTIFICATE", C::ClientCertRejected, Peer),
];

#[test]
fn openssl_functions_tell_the_side() {
    for (text, code, side) in FUNCTIONS {
        assert_first("openssl", text, *code, *side);
    }
    // The function decides even against the generic reading of the other side.
    let broker = readings(
        "error:14089086:SSL routines:SSL3_GET_CLIENT_CERTIFICATE:certificate verify failed",
    );
    assert!(
        !broker.iter().any(|(c, _)| *c == C::UnknownCa),
        "{broker:?}"
    );
}

/// Issue 14's other messages, as users see them: the readings expected first, in order.
#[rustfmt::skip]
const SEEN_BY_USERS: &[(&str, &[(C, RejectedBy)])] = &[
    // mosquitto_pub/_sub without -d
    ("Error: A TLS error occurred.", &[(C::UnknownCa, Local), (C::HostnameMismatch, Local), (C::ServerCertExpired, Local), (C::MissingIntermediate, Local), (C::ServerCertAsCa, Local), (C::PlaintextPort, Nobody)]),
    ("Unable to connect (A TLS error occurred.).", &[(C::UnknownCa, Local)]),
    ("Error: The connection was lost.", &[(C::ClientCertRequired, Peer), (C::ClientCertUnknownCa, Peer), (C::MqttNoConnack, Peer)]),
    ("Error: Protocol error", &[(C::ClientCertUnknownCa, Peer), (C::ClientCertRequired, Peer), (C::ClientCertRejected, Peer)]),
    ("Disconnected: Unspecified error", &[(C::ClientCertRequired, Peer), (C::ClientCertUnknownCa, Peer), (C::MqttNoConnack, Peer), (C::MqttRefused, Peer)]),
    ("Connected with result code Bad user name or password
Disconnected: Unspecified error", &[(C::MqttBadCredentials, Peer)]),
    // the -d output names the alert: the client's reading, from `sending CONNECT`
    ("Client (null) sending CONNECT\nOpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca", &[(C::ClientCertUnknownCa, Peer)]),
    // Node.js
    ("Error: Client network socket disconnected before secure TLS connection was established\n    at connResetException (node:internal/errors:720:14) {\n  code: 'ECONNRESET'", &[(C::PlaintextPort, Nobody), (C::PeerClosed, Nobody), (C::ClientCertRequired, Peer)]),
    ("Error: read ECONNRESET", &[(C::PlaintextPort, Nobody)]),
    // mosquitto_pub -d: the OpenSSL reason outranks the summary that hides it
    ("Client (null) sending CONNECT\nOpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed\nError: A TLS error occurred.", &[(C::UnknownCa, Local), (C::MissingIntermediate, Local), (C::ServerCertAsCa, Local), (C::HostnameMismatch, Local), (C::ServerCertExpired, Local)]),
    ("Client (null) sending CONNECT\nOpenSSL Error[0]: error:0A000126:SSL routines::unexpected eof while reading\nError: A TLS error occurred.", &[(C::PlaintextPort, Nobody), (C::PeerClosed, Nobody)]),
    ("Error: connack timeout\n    at MqttClient._onConnackTimeout (/usr/lib/node_modules/mqtt/build/lib/client.js:447:28)", &[(C::HandshakeTimeout, Nobody), (C::MqttNoConnack, Peer)]),
    ("Error: unable to verify the first certificate UNABLE_TO_VERIFY_LEAF_SIGNATURE", &[(C::MissingIntermediate, Local), (C::UnknownCa, Local)]),
    // Python: EOF in the handshake is no alert; a timeout in the handshake is not TCP's
    ("ssl.SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)", &[(C::PlaintextPort, Nobody), (C::PeerClosed, Nobody)]),
    ("ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:2427)", &[(C::ClientCertRequired, Peer), (C::ClientCertUnknownCa, Peer), (C::PeerClosed, Nobody)]),
    ("TimeoutError: _ssl.c:989: The handshake operation timed out", &[(C::HandshakeTimeout, Nobody)]),
    // paho 2.x reason strings
    ("Bad user name or password", &[(C::MqttBadCredentials, Peer)]),
    ("Not authorized", &[(C::MqttNotAuthorized, Peer)]),
    // mqtt.js / mqtt-packet: TLS bytes on a plain MQTT listener
    ("Error: Invalid header flag bits, must be 0x0 for connect packet", &[(C::PlaintextPort, Local)]),
    // a rustls-based broker refusing the client
    ("2026-11-25T10:00:00Z ERROR rumqttd::server::broker: Failed to accept TLS connection: InvalidCertificate(UnknownIssuer)", &[(C::ClientCertUnknownCa, Local)]),
    ("ERROR rumqttd: Failed to accept TLS connection: NoCertificatesPresented", &[(C::ClientCertRequired, Local)]),
    ("ERROR rumqttd::link::remote: Connection error: InvalidAuth", &[(C::MqttBadCredentials, Local)]),
    // an Erlang broker's client-certificate check
    ("[error] supervisor: 'esockd_connection_sup', reason: {ssl_error,{tls_alert,{unknown_ca,\"TLS verify failed: unable to verify the first certificate\"}}}", &[(C::ClientCertUnknownCa, Local)]),
    ("TLS verify failed: unable to verify the first certificate", &[(C::ClientCertUnknownCa, Local)]),
    // the printer refused its peer's bytes: local
    ("error:0A00010B:SSL routines:ssl3_get_record:wrong version number", &[(C::NotTls, Local)]),
    ("tls: first record does not look like a TLS handshake", &[(C::NotTls, Local)]),
    // a leading Unix timestamp is mosquitto's log: the broker received the alert
    ("1796572367: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca", &[(C::UnknownCa, Peer)]),
];

#[test]
fn messages_users_see_map_to_every_reading() {
    for (text, expected) in SEEN_BY_USERS {
        let got = readings(text);
        assert!(
            got.len() >= expected.len() && got[..expected.len()] == **expected,
            "{text:?}: expected first {expected:?}, got {got:?}"
        );
        for m in explain(text).matches {
            assert!(
                !m.tell_apart.is_empty(),
                "{text:?}: {:?} has no check",
                m.code
            );
        }
    }
    // A timestamped broker line drops the client's reading entirely.
    assert_eq!(
        readings(
            "1796572367: OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca"
        ),
        vec![
            (C::UnknownCa, Peer),
            (C::MissingIntermediate, Peer),
            (C::ServerCertAsCa, Peer)
        ]
    );
}

/// `--log` without connection lines: one failure per line of its own, and a Node.js error
/// object printed over several lines is one failure (a real log of a Node `tls` server,
/// `tlsClientError` printed with console.error, against mosquitto_pub).
#[test]
fn log_without_addresses_counts_each_failure() {
    let three = "OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca\n".repeat(3);
    let r = log::explain_log(&three);
    assert_eq!(r.failures, 3, "{r:#?}");

    let node = include_str!("../../tests/data/explain/node-tls-server.log");
    let r = log::explain_log(node);
    let groups: Vec<(C, RejectedBy, usize)> = r
        .groups
        .iter()
        .map(|g| (g.code, g.rejected_by, g.count))
        .collect();
    assert_eq!(
        groups,
        vec![
            (C::ClientCertRequired, Local, 2),
            (C::NotTls, Local, 1),
            (C::UnknownCa, Peer, 1),
        ],
        "{r:#?}"
    );
    assert_eq!(r.failures, 4);
}

/// TLS-PSK messages captured from mosquitto 2.0.11 and its OpenSSL 3.0 clients (`openssl
/// s_client -psk`, `mosquitto_pub --psk`) against a PSK listener.
#[test]
fn psk_messages_from_mosquitto_and_its_clients() {
    let captured: &[(&str, &str, C, RejectedBy)] = &[
        (
            "s_client -tls1_2, unknown identity",
            "800BEF96A47F0000:error:0A00045B:SSL routines:ssl3_read_bytes:tlsv1 alert unknown psk identity:../ssl/record/rec_layer_s3.c:1601:SSL alert number 115",
            C::PskIdentityUnknown,
            Peer,
        ),
        (
            "s_client -tls1_2, wrong key",
            "80DB0BDC657F0000:error:0A0003FC:SSL routines:ssl3_read_bytes:sslv3 alert bad record mac:../ssl/record/rec_layer_s3.c:1601:SSL alert number 20",
            C::PskKeyMismatch,
            Peer,
        ),
        (
            "mosquitto_pub, wrong key (TLS 1.3)",
            "Error: A TLS error occurred.\nClient (null) sending CONNECT\nOpenSSL Error[0]: error:0A000417:SSL routines::sslv3 alert illegal parameter",
            C::PskKeyMismatch,
            Peer,
        ),
        (
            "mosquitto log, wrong key (TLS 1.3)",
            "1796578373: Client connection from 127.0.0.1 failed: error:0A0000FD:SSL routines::binder does not verify.",
            C::PskKeyMismatch,
            Local,
        ),
        (
            "mosquitto log, unknown identity (TLS 1.2)",
            "1796578374: OpenSSL Error[0]: error:0A0000DF:SSL routines::psk identity not found",
            C::PskIdentityUnknown,
            Local,
        ),
        (
            "mqtls rustls column",
            "not supported by this stack: rustls implements no external pre-shared keys (TLS-PSK)",
            C::NotSupportedByStack,
            Nobody,
        ),
    ];
    for (what, text, code, side) in captured {
        assert_first(what, text, *code, *side);
    }
    // A PSK-only listener's log line for a client without a (known) PSK: one of the readings.
    let e = explain(
        "1796578373: Client connection from 127.0.0.1 failed: error:0A000076:SSL routines::no suitable signature algorithm.",
    );
    assert!(
        e.matches.iter().any(|m| m.code == C::PskRequired),
        "{:?}",
        e.matches.iter().map(|m| m.code).collect::<Vec<_>>()
    );
}
