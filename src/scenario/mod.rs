//! Scenario suites: the YAML format ([`model`]) and its loader ([`load()`]).

pub mod load;
pub mod model;

pub use load::{Case, CaseTarget, ScenarioError, Suite, load, load_with};
pub use model::{Expectation, Profile};

#[cfg(test)]
mod tests;
