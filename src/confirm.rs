//! Asking before deleting anything: a checklist of the changes (ticked, but for running notebooks,
//! whose restart needs consent), then a yes/no naming the account and regions that defaults to
//! no. Only on a terminal.

use dialoguer::{Confirm, MultiSelect};
use std::io::IsTerminal;

/// Can we ask? Both stdin (answers) and stderr (where dialoguer draws) must be terminals.
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Lets the user tick and untick items (each a label and whether it starts ticked); returns the
/// indices kept, or `None` when they quit (Esc).
pub fn choose(prompt: &str, items: &[(String, bool)]) -> std::io::Result<Option<Vec<usize>>> {
    let labels: Vec<&str> = items.iter().map(|(label, _)| label.as_str()).collect();
    let defaults: Vec<bool> = items.iter().map(|(_, ticked)| *ticked).collect();
    MultiSelect::new()
        .with_prompt(prompt)
        .items(&labels)
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
