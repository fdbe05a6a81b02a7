//! The models reports are made of: plain, serialisable data that the commands build and the
//! renderers in `report` print. A model never names the command that builds it, so a renderer
//! can take it without knowing that command.

pub mod diagnose;
pub mod explain;
pub mod inspect;
pub mod run;
pub mod scan;

pub use diagnose::{
    AlertInfo, Alerts, BackendReport, DiagnoseReport, Inputs, Meta, Outcome, SCHEMA_VERSION,
    TargetInfo, Tool, explain_disagreement,
};
