//! IKE vocabulary shared by parsing, classification and recording: phases,
//! IKE versions, failure patterns, proposal parameters, and the SA endpoints
//! that PAN-OS texts print as `local[port]-peer[port]`.
//!
//! Every label value of the domain metrics that is not free text comes from an
//! enum here, so the public label sets are closed (design.md §5).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// Phase 1 (IKEv1 main/aggressive mode, IKEv2 IKE_SA) or Phase 2 (quick mode, CHILD_SA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Phase {
    #[serde(rename = "1")]
    One,
    #[serde(rename = "2")]
    Two,
}

impl Phase {
    /// The `phase` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::One => "1",
            Phase::Two => "2",
        }
    }
}

/// IKE protocol version, from the event ID family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum IkeVersion {
    #[serde(rename = "1")]
    V1,
    #[serde(rename = "2")]
    V2,
}

impl IkeVersion {
    /// The `ike_version` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            IkeVersion::V1 => "1",
            IkeVersion::V2 => "2",
        }
    }
}

/// Why a negotiation failed: the `pattern` label (design.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// Phase 1: the firewall has no IKE gateway for the peer's address.
    PeerNotConfigured,
    /// No answer from the peer.
    Timeout,
    /// No proposal (encryption, hash, DH group, …) acceptable to both sides.
    ProposalMismatch,
    /// Phase 1: the pre-shared keys differ.
    PskMismatch,
    /// Phase 1: the IKE identities do not match.
    IdMismatch,
    /// Phase 1: certificate authentication failed.
    Certificate,
    /// Phase 1: another authentication failure.
    Authentication,
    /// Phase 2: the proxy IDs (traffic selectors) differ.
    ProxyIdMismatch,
    /// Phase 2: the PFS DH groups differ.
    PfsMismatch,
    /// Phase 2: no Phase 1 SA to negotiate under.
    NoPhase1Sa,
    /// Any other failure of the phase.
    Other,
}

impl Pattern {
    /// Every pattern, for tables and docs.
    pub const ALL: [Pattern; 11] = [
        Pattern::PeerNotConfigured,
        Pattern::Timeout,
        Pattern::ProposalMismatch,
        Pattern::PskMismatch,
        Pattern::IdMismatch,
        Pattern::Certificate,
        Pattern::Authentication,
        Pattern::ProxyIdMismatch,
        Pattern::PfsMismatch,
        Pattern::NoPhase1Sa,
        Pattern::Other,
    ];

    /// The `pattern` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::PeerNotConfigured => "peer_not_configured",
            Pattern::Timeout => "timeout",
            Pattern::ProposalMismatch => "proposal_mismatch",
            Pattern::PskMismatch => "psk_mismatch",
            Pattern::IdMismatch => "id_mismatch",
            Pattern::Certificate => "certificate",
            Pattern::Authentication => "authentication",
            Pattern::ProxyIdMismatch => "proxy_id_mismatch",
            Pattern::PfsMismatch => "pfs_mismatch",
            Pattern::NoPhase1Sa => "no_phase1_sa",
            Pattern::Other => "other",
        }
    }

    /// Whether the pattern belongs to the closed set of `phase`.
    pub fn belongs_to(self, phase: Phase) -> bool {
        use Pattern::*;
        match phase {
            Phase::One => matches!(
                self,
                PeerNotConfigured
                    | Timeout
                    | ProposalMismatch
                    | PskMismatch
                    | IdMismatch
                    | Certificate
                    | Authentication
                    | Other
            ),
            Phase::Two => matches!(
                self,
                ProxyIdMismatch | ProposalMismatch | PfsMismatch | Timeout | NoPhase1Sa | Other
            ),
        }
    }
}

/// A proposal parameter, named as ikemgr names it (design.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Parameter {
    Enctype,
    Encklen,
    Hashtype,
    Authmethod,
    DhGroup,
    Lifetime,
    Lifebyte,
    TrnsId,
    Authtype,
    Encmode,
}

impl Parameter {
    /// The `parameter` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Parameter::Enctype => "enctype",
            Parameter::Encklen => "encklen",
            Parameter::Hashtype => "hashtype",
            Parameter::Authmethod => "authmethod",
            Parameter::DhGroup => "dh_group",
            Parameter::Lifetime => "lifetime",
            Parameter::Lifebyte => "lifebyte",
            Parameter::TrnsId => "trns_id",
            Parameter::Authtype => "authtype",
            Parameter::Encmode => "encmode",
        }
    }

    /// Maps a name as printed by ikemgr or a SYSTEM text (`hashtype`,
    /// `pfs group`, IKEv2's `integrity`, …) to the parameter.
    pub fn from_log_name(name: &str) -> Option<Parameter> {
        let name = name.trim().to_ascii_lowercase();
        Some(match name.as_str() {
            "enctype" | "encryption" | "encryption algorithm" => Parameter::Enctype,
            "encklen" | "key length" => Parameter::Encklen,
            // IKEv1's hash serves as PRF and integrity; IKEv2 names them apart.
            "hashtype" | "integrity" | "integrity algorithm" | "prf" | "prf algorithm" => {
                Parameter::Hashtype
            }
            "authmethod" | "authentication method" => Parameter::Authmethod,
            "dh_group" | "dh group" | "pfs group" | "dh" | "diffie-hellman group" => {
                Parameter::DhGroup
            }
            "lifetime" => Parameter::Lifetime,
            "lifebyte" => Parameter::Lifebyte,
            "trns_id" => Parameter::TrnsId,
            "authtype" => Parameter::Authtype,
            "encmode" => Parameter::Encmode,
            _ => return None,
        })
    }
}

/// One proposal parameter that differed: `local` is the firewall's value,
/// `remote` the peer's, empty when the text does not say.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ProposalDiff {
    pub phase: Phase,
    pub parameter: Parameter,
    pub local: String,
    pub remote: String,
}

/// The two ends of an SA as printed: the firewall first, the peer second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub local: String,
    pub peer: String,
}

static ENDPOINTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9A-Za-z:.])([0-9A-Fa-f:.]+)\[\d+\]\s?-\s?([0-9A-Fa-f:.]+)\[\d+\]")
        .expect("static regex compiles")
});

/// Finds `A[port]-B[port]` (or `A[port] - B[port]`) in a text. Ports are dropped.
pub fn endpoints(text: &str) -> Option<Endpoints> {
    let caps = ENDPOINTS.captures(text)?;
    Some(Endpoints {
        local: caps[1].to_owned(),
        peer: caps[2].to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_ipv4_firewall_first() {
        let e =
            endpoints("Failed SA: 200.100.5.1[500]-200.100.1.254[500] cookie:02f2:0000").unwrap();
        assert_eq!(
            (e.local.as_str(), e.peer.as_str()),
            ("200.100.5.1", "200.100.1.254")
        );
    }

    #[test]
    fn endpoints_ipv6_and_nat_t_ports() {
        let e = endpoints("Initiated SA: 2001:db8::10[4500]-2001:db8:1::20[4500] SPI:a:b").unwrap();
        assert_eq!(
            (e.local.as_str(), e.peer.as_str()),
            ("2001:db8::10", "2001:db8:1::20")
        );
    }

    #[test]
    fn endpoints_ikemgr_spacing() {
        let e = endpoints("200.100.5.1[500] - 200.100.1.254[500]:(nil) failed").unwrap();
        assert_eq!(e.peer, "200.100.1.254");
    }

    #[test]
    fn endpoints_absent() {
        assert_eq!(endpoints("likely due to pre-shared key mismatch."), None);
    }

    #[test]
    fn pattern_sets_are_closed_per_phase() {
        assert!(Pattern::PeerNotConfigured.belongs_to(Phase::One));
        assert!(!Pattern::PeerNotConfigured.belongs_to(Phase::Two));
        assert!(Pattern::PfsMismatch.belongs_to(Phase::Two));
        assert!(!Pattern::PfsMismatch.belongs_to(Phase::One));
    }
}
