//! `man`: manual pages generated from the clap definitions, so they say what `--help` says.

use crate::cli::{Cli, ManArgs};
use crate::exit::{ExitStatus, UsageError};
use crate::output::Output;
use clap::CommandFactory;

pub fn run(out: &Output, args: ManArgs) -> anyhow::Result<ExitStatus> {
    match &args.out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            out.data(&String::from_utf8_lossy(&page))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                UsageError::new(format!("cannot create {}: {e}", dir.display()))
                    .with_hint("choose a directory you can write to with --out-dir")
            })?;
            clap_mangen::generate_to(Cli::command(), dir).map_err(|e| {
                UsageError::new(format!(
                    "cannot write manual pages into {}: {e}",
                    dir.display()
                ))
            })?;
        }
    }
    Ok(ExitStatus::Success)
}
