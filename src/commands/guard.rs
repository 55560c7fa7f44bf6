//! `guard`: the deny-only policy that keeps fixed flags from coming back, on stdout; how to
//! attach it, and the warning that comes with it, on stderr. No AWS call, no credentials.

use crate::cli::GuardArgs;
use crate::exit::ExitStatus;
use crate::guard::{self, ATTACH_AFTER_THE_FIX};
use crate::kinds::Fixes;
use crate::output::Output;

pub fn run(out: &Output, args: GuardArgs) -> anyhow::Result<ExitStatus> {
    let fixes: Fixes = args.fixes.into_iter().collect();
    out.data(&guard::policy(fixes).to_pretty_json())?;
    out.warn(ATTACH_AFTER_THE_FIX);
    out.hint(args.format.how_to_attach("guard.json"));
    Ok(ExitStatus::Success)
}
