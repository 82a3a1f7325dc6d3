//! The `ike_exporter` binary: parse the command line, run, map the result to
//! an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ike_exporter::cli::Cli::parse();
    ike_exporter::cli::run(cli)
}
