//! Asking before deleting anything: a checklist of the definitions (all ticked), then a yes/no
//! naming the account and regions that defaults to no. Only on a terminal.

use dialoguer::{Confirm, MultiSelect};
use std::io::IsTerminal;

/// Can we ask? Both stdin (answers) and stderr (where dialoguer draws) must be terminals.
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Lets the user untick definitions; returns the indices kept, or `None` when they quit (Esc).
pub fn choose(labels: &[String]) -> std::io::Result<Option<Vec<usize>>> {
    let defaults = vec![true; labels.len()];
    MultiSelect::new()
        .with_prompt("Definitions to recreate (space toggles, enter accepts, esc cancels)")
        .items(labels)
        .defaults(&defaults)
        .interact_opt()
        .map_err(std::io::Error::other)
}

/// The final yes/no; default no.
pub fn confirm(question: &str) -> std::io::Result<bool> {
    Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact_opt()
        .map(|answer| answer.unwrap_or(false))
        .map_err(std::io::Error::other)
}
