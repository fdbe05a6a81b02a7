//! `mqtls explain --log FILE`: reads a whole broker log (mosquitto, RabbitMQ, EMQX, VerneMQ)
//! and groups its TLS failures by client address and cause.
//!
//! Each line is explained as a broker's line (`Context::Broker`): the same alert words mean
//! opposite things in a client's output. mosquitto names the client on a `New connection from`
//! line and the failure on the following `OpenSSL Error[n]` lines; Erlang brokers put the peer
//! address on the failing line itself, or on an earlier `accepting ... connection` line.

// Text pasted by the user: no index may panic.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::collections::{BTreeMap, BTreeSet};

use std::net::{IpAddr, SocketAddr};

use crate::classify::DiagnosisCode;
use crate::model::SCHEMA_VERSION;

use super::{Context, RejectedBy, explain_in};
use crate::model::explain::{LogGroup, LogReport};

/// Groups the failures of a broker log.
pub fn explain_log(text: &str) -> LogReport {
    let mut current = "unknown".to_string();
    let mut connection = 0usize;
    let mut seen: BTreeSet<(usize, DiagnosisCode)> = BTreeSet::new();
    let mut groups: BTreeMap<(String, DiagnosisCode, RejectedBy), LogGroup> = BTreeMap::new();
    let mut failures = 0;
    let mut lines = 0;
    // Whether the log marks connections at all (a `New connection from` line, an address).
    let mut marked = false;
    for line in text.lines() {
        lines += 1;
        let lower = line.to_ascii_lowercase();
        let address = address_in(line);
        if lower.contains("new connection from") || address.is_some() {
            connection += 1;
            marked = true;
        }
        if let Some(a) = address {
            current = a;
        }
        let explanation = explain_in(line, Context::Broker);
        let Some(best) = explanation.matches.into_iter().next() else {
            continue;
        };
        // A client closing without close_notify is noise in an OpenSSL 3 broker's log.
        if best.code == DiagnosisCode::PeerClosed {
            continue;
        }
        if !seen.insert((connection, best.code)) {
            // A log that never names a connection (a Node.js broker, mosquitto without
            // `log_type notice`) still prints one line per failed connection: a repeat on a
            // line of its own is another connection. Continuation lines (a Node.js error
            // object's fields, OpenSSL's `Error[1]`) belong to the failure above them.
            if marked || is_continuation(line) {
                continue;
            }
            connection += 1;
            seen.insert((connection, best.code));
        }
        failures += 1;
        let key = (current.clone(), best.code, best.rejected_by);
        groups
            .entry(key)
            .and_modify(|g| g.count += 1)
            .or_insert_with(|| LogGroup {
                client: current.clone(),
                code: best.code,
                rejected_by: best.rejected_by,
                stack: best.stack.clone(),
                count: 1,
                meaning: best.meaning.clone(),
                example: line.trim().chars().take(200).collect(),
            });
    }
    let mut groups: Vec<LogGroup> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.client.cmp(&b.client))
            .then_with(|| a.code.cmp(&b.code))
    });
    LogReport {
        schema_version: SCHEMA_VERSION,
        lines,
        failures,
        groups,
    }
}

/// A line that continues the failure printed above it: indented (a Node.js error object's
/// `library:`/`reason:`/`code:` fields, a stack frame), a closing brace, or an OpenSSL error
/// queue entry after the first (`OpenSSL Error[1]:`).
fn is_continuation(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    if let Some(at) = lower.find("openssl error[") {
        let index: String = lower
            .get(at + "openssl error[".len()..)
            .unwrap_or_default()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        return index.parse::<u32>().is_ok_and(|n| n > 0);
    }
    line.starts_with([' ', '\t']) || line.trim_start().starts_with(['}', ']', ')'])
}

/// The client IP in a log line: a `host:port` token (`127.0.0.1:54321`, `[::1]:8883`), or an
/// address after `from` (mosquitto's `Client connection from 127.0.0.1 failed`). The broker's
/// own side of `a -> b` is skipped.
fn address_in(line: &str) -> Option<String> {
    let cleaned: String = line
        .chars()
        .map(|c| if "(){}<>,;\"'=".contains(c) { ' ' } else { c })
        .collect();
    let tokens: Vec<&str> = cleaned.split_whitespace().collect();
    for (i, token) in tokens.iter().enumerate() {
        let token = token.trim_end_matches(['.', ':']);
        if let Ok(addr) = token.parse::<SocketAddr>() {
            return Some(addr.ip().to_string());
        }
        let after_from = i
            .checked_sub(1)
            .and_then(|prev| tokens.get(prev))
            .is_some_and(|t| t.eq_ignore_ascii_case("from"));
        if after_from && let Ok(ip) = token.parse::<IpAddr>() {
            return Some(ip.to_string());
        }
    }
    None
}
