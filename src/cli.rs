//! Command-line interface (Prometheus exporter conventions, design.md §6).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::diagnose;

/// Prometheus exporter that tells why PAN-OS IPsec VPNs fail.
#[derive(Debug, Parser)]
#[command(name = "ike_exporter", version, about, subcommand_required = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read log files to the end and report, per device and peer, why IKE
    /// negotiations failed and what to check.
    Diagnose(DiagnoseArgs),
}

/// Output formats of `diagnose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A report for a person.
    Text,
    /// The same report for a script.
    Json,
    /// The Prometheus exposition the exporter would serve for this input.
    Prometheus,
}

/// Arguments of `diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Time zone of log times that carry none (PAN-OS CSV times are the
    /// firewall's local time), e.g. `Asia/Tokyo`.
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// Device name for records that name none (ikemgr.log, GUI exports without
    /// a Device Name column).
    #[arg(long)]
    pub device: Option<String>,
    /// Lines longer than this many bytes are skipped and counted.
    #[arg(long, default_value_t = crate::parse::framing::DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// Log files to read; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Diagnose(args) => diagnose::main(&args),
    }
}
