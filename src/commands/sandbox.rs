//! `sandbox serve`: the emulator as a long-running server for other tools.

use crate::cli::{GlobalArgs, SandboxServeArgs};
use crate::exit::{ExitStatus, UsageError};
use crate::output::Output;
use sm_emulator::{Behaviour, EmulatorConfig, Seed};
use std::net::{Ipv4Addr, SocketAddr};

pub async fn serve(
    out: &Output,
    global: &GlobalArgs,
    args: SandboxServeArgs,
) -> anyhow::Result<ExitStatus> {
    if global.sandbox.is_some() {
        return Err(UsageError::new("`sandbox serve` does not take --sandbox")
            .with_hint("use --seed FILE to choose what the served emulator holds")
            .into());
    }
    if global.accounts.org && args.seed.is_some() {
        return Err(UsageError::new("--org and --seed cannot be combined")
            .with_hint("--org serves the built-in demo organization; a seed file may describe its own (fixtures/README.md)")
            .into());
    }
    let seed = match &args.seed {
        None if global.accounts.org => Seed::demo_organization(),
        None => Seed::demo(),
        Some(path) => Seed::from_path(path)
            .map_err(|e| UsageError::new(format!("cannot use seed {}: {e}", path.display())))?,
    };
    let behaviour = match &args.faults {
        None => Behaviour::default(),
        Some(path) => Behaviour::from_path(path)
            .map_err(|e| UsageError::new(format!("cannot use faults {}: {e}", path.display())))?,
    };
    let emulator = sm_emulator::start(
        EmulatorConfig { seed, behaviour },
        SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
    )
    .await
    .map_err(|e| UsageError::new(format!("cannot start the emulator: {e}")))?;
    // The URL is the data a caller needs, so it goes to stdout (and is flushed: callers read it
    // from a pipe before we exit).
    out.data(&format!("{}\n", emulator.endpoint_url()))?;
    let accounts = emulator.account_ids();
    let members = if accounts.len() > 1 {
        format!(
            ", the management account of an organization with members {}, reached with sts:AssumeRole",
            accounts[1..].join(", ")
        )
    } else {
        String::new()
    };
    out.notice(format!(
        "SageMaker emulator listening on {} (account {}{members}); any credentials work. Ctrl-C stops it.",
        emulator.endpoint_url(),
        emulator.account_id()
    ));
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await;
    Ok(ExitStatus::Success)
}
