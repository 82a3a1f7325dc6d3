//! What to check for each failure pattern: the troubleshooting guide of
//! design.md §1 and the Phase 2 checks, in one place and in each language,
//! for `diagnose`, the README, the alert annotations and the runbook
//! (`docs/runbook.md`, `docs/runbook.ja.md`, which repeat these checks
//! verbatim; `tests/integration/runbook.rs` holds them to it).
//!
//! Commands and log texts are in backticks, so that a check reads the same
//! in a terminal and in Markdown (where `<peer IP>` would otherwise be taken
//! for an HTML tag). GUI paths are written as the PAN-OS GUI shows them, in
//! English, in both languages.

use crate::ike::{Pattern, Phase};

/// The language of the advice (`diagnose --lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Japanese.
    Ja,
}

impl Lang {
    /// Every language.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    /// The language code (`en`, `ja`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }
}

/// One-line summary of a pattern, in English.
pub fn summary(phase: Phase, pattern: Pattern) -> &'static str {
    summary_in(Lang::En, phase, pattern)
}

/// The concrete checks for a pattern, in order, in English.
pub fn checks(phase: Phase, pattern: Pattern) -> &'static [&'static str] {
    checks_in(Lang::En, phase, pattern)
}

/// One-line summary of a pattern in `lang`.
pub fn summary_in(lang: Lang, phase: Phase, pattern: Pattern) -> &'static str {
    entry(phase, pattern).text(lang).summary
}

/// The concrete checks for a pattern, in order, in `lang`.
pub fn checks_in(lang: Lang, phase: Phase, pattern: Pattern) -> &'static [&'static str] {
    entry(phase, pattern).text(lang).checks
}

/// The runbook section (an alert name, `## <name>` in `docs/runbook*.md`)
/// that holds the checks of a pattern. The `other` patterns have no alert of
/// their own: they surface as a tunnel that is down.
pub fn runbook_section(phase: Phase, pattern: Pattern) -> &'static str {
    match (phase, pattern) {
        (_, Pattern::PeerNotConfigured) => "IkePhase1PeerNotConfigured",
        (Phase::One, Pattern::Timeout) => "IkePhase1Timeout",
        (Phase::One, Pattern::ProposalMismatch) => "IkePhase1ProposalMismatch",
        (_, Pattern::PskMismatch) => "IkePhase1PskMismatch",
        (_, Pattern::IdMismatch | Pattern::Certificate | Pattern::Authentication) => {
            "IkePhase1AuthenticationFailure"
        }
        (_, Pattern::ProxyIdMismatch) => "IkePhase2ProxyIdMismatch",
        (Phase::Two, Pattern::ProposalMismatch) => "IkePhase2ProposalMismatch",
        (_, Pattern::PfsMismatch) => "IkePhase2PfsMismatch",
        (Phase::Two, Pattern::Timeout) => "IkePhase2Timeout",
        (_, Pattern::NoPhase1Sa) => "IkePhase2NoPhase1Sa",
        (_, Pattern::Other) => DPD_DOWN_RUNBOOK_SECTION,
    }
}

/// Summary for a Phase 1 SA that dead peer detection declared down, in English.
pub const DPD_DOWN_SUMMARY: &str = DPD_DOWN.en.summary;

/// Checks for a Phase 1 SA that dead peer detection declared down, in English.
pub const DPD_DOWN_CHECKS: &[&str] = DPD_DOWN.en.checks;

/// [`DPD_DOWN_SUMMARY`] in Japanese.
pub const DPD_DOWN_SUMMARY_JA: &str = DPD_DOWN.ja.summary;

/// [`DPD_DOWN_CHECKS`] in Japanese.
pub const DPD_DOWN_CHECKS_JA: &[&str] = DPD_DOWN.ja.checks;

/// The runbook section that holds the DPD checks.
pub const DPD_DOWN_RUNBOOK_SECTION: &str = "IkeTunnelDown";

/// Summary for a Phase 1 SA that dead peer detection declared down, in `lang`.
pub fn dpd_down_summary_in(lang: Lang) -> &'static str {
    DPD_DOWN.text(lang).summary
}

/// Checks for a Phase 1 SA that dead peer detection declared down, in `lang`.
pub fn dpd_down_checks_in(lang: Lang) -> &'static [&'static str] {
    DPD_DOWN.text(lang).checks
}

/// The advice for one case in one language.
struct Text {
    summary: &'static str,
    checks: &'static [&'static str],
}

/// The advice for one case, in every language, side by side so that a change
/// to one is seen next to the others.
struct Advice {
    en: Text,
    ja: Text,
}

impl Advice {
    const fn text(&self, lang: Lang) -> &Text {
        match lang {
            Lang::En => &self.en,
            Lang::Ja => &self.ja,
        }
    }
}

fn entry(phase: Phase, pattern: Pattern) -> &'static Advice {
    match (phase, pattern) {
        (_, Pattern::PeerNotConfigured) => &PEER_NOT_CONFIGURED,
        (Phase::One, Pattern::Timeout) => &P1_TIMEOUT,
        (Phase::One, Pattern::ProposalMismatch) => &P1_PROPOSAL_MISMATCH,
        (_, Pattern::PskMismatch) => &PSK_MISMATCH,
        (_, Pattern::IdMismatch) => &ID_MISMATCH,
        (_, Pattern::Certificate) => &CERTIFICATE,
        (_, Pattern::Authentication) => &AUTHENTICATION,
        (Phase::One, Pattern::Other) => &P1_OTHER,
        (_, Pattern::ProxyIdMismatch) => &PROXY_ID_MISMATCH,
        (Phase::Two, Pattern::ProposalMismatch) => &P2_PROPOSAL_MISMATCH,
        (_, Pattern::PfsMismatch) => &PFS_MISMATCH,
        (Phase::Two, Pattern::Timeout) => &P2_TIMEOUT,
        (_, Pattern::NoPhase1Sa) => &NO_PHASE1_SA,
        (Phase::Two, Pattern::Other) => &P2_OTHER,
    }
}

static PEER_NOT_CONFIGURED: Advice = Advice {
    en: Text {
        summary: "the firewall has no IKE gateway for this peer address",
        checks: &[
            "Check Network > Network Profiles > IKE Gateways > Peer Address on the firewall: it must be the peer's address. The peer device needs no check.",
            "If the address is not one of your VPN peers, this is an internet scanner probing UDP 500: no action is needed.",
        ],
    },
    ja: Text {
        summary: "この対向アドレスに対応する IKE ゲートウェイがファイアウォールに設定されていない",
        checks: &[
            "ファイアウォールの Network > Network Profiles > IKE Gateways > Peer Address が対向装置のアドレスになっているか確認してください。対向装置側の確認は不要です。",
            "アドレスが自社の VPN ピアのいずれでもない場合は、UDP 500 を探索しているインターネット上のスキャナーによるもので、対応は不要です。",
        ],
    },
};

static P1_TIMEOUT: Advice = Advice {
    en: Text {
        summary: "the peer did not answer the Phase 1 negotiation",
        checks: &[
            "From the firewall CLI: `ping source <local IP> host <peer IP>`.",
            "Look for a security policy (untrust to untrust) that denies the traffic; allow the applications `ike` and `ipsec`. Make the same check on the peer.",
            "Check the Phase 1 parameters (peer address, IKE version, exchange mode) on the firewall, then on the peer.",
        ],
    },
    ja: Text {
        summary: "対向装置が Phase 1 のネゴシエーションに応答しなかった",
        checks: &[
            "ファイアウォールの CLI で `ping source <local IP> host <peer IP>` を実行し、対向装置に届くか確認してください。",
            "通信を拒否しているセキュリティポリシー（untrust から untrust）がないか確認し、アプリケーション `ike` と `ipsec` を許可してください。対向装置側でも同じ確認をしてください。",
            "Phase 1 のパラメータ（ピアアドレス、IKE バージョン、交換モード）を、ファイアウォール、次に対向装置の順に確認してください。",
        ],
    },
};

static P1_PROPOSAL_MISMATCH: Advice = Advice {
    en: Text {
        summary: "no Phase 1 (IKE) proposal acceptable to both sides",
        checks: &[
            "Compare the IKE Crypto profile (DH group, encryption, authentication, lifetime) with the peer's Phase 1 proposal.",
            "On the firewall: `debug ike global on debug`, reproduce, then `less mp-log ikemgr.log` and find `Compared: DB:Peer`: each line is parameter = firewall:peer, and `rejected …` names the culprit. Afterwards: `debug ike global on normal`.",
        ],
    },
    ja: Text {
        summary: "両側で合意できる Phase 1 (IKE) のプロポーザルがない",
        checks: &[
            "IKE Crypto プロファイル（DH グループ、暗号化、認証、ライフタイム）を対向装置の Phase 1 プロポーザルと比較してください。",
            "ファイアウォールで `debug ike global on debug` を実行して事象を再現させ、`less mp-log ikemgr.log` で `Compared: DB:Peer` を探してください。各行は「パラメータ = ファイアウォール側:対向装置側」の形式で、`rejected …` の行が不一致のパラメータを示します。確認後は `debug ike global on normal` で元に戻してください。",
        ],
    },
};

static PSK_MISMATCH: Advice = Advice {
    en: Text {
        summary: "the pre-shared keys differ",
        checks: &[
            "Re-enter the pre-shared key on the firewall (Network > Network Profiles > IKE Gateways > the gateway > Pre-shared Key).",
            "Then re-enter the same key on the peer.",
        ],
    },
    ja: Text {
        summary: "事前共有鍵（PSK）が一致していない",
        checks: &[
            "ファイアウォールで事前共有鍵を入力し直してください（Network > Network Profiles > IKE Gateways > 対象のゲートウェイ > Pre-shared Key）。",
            "続いて対向装置にも同じ鍵を入力し直してください。",
        ],
    },
};

static ID_MISMATCH: Advice = Advice {
    en: Text {
        summary: "the IKE identities do not match",
        checks: &[
            "Compare Local Identification and Peer Identification of the IKE gateway (type and value) with the peer's own and expected IDs.",
            "With a pre-shared key in IKEv1 main mode the peer ID must be an IP address.",
        ],
    },
    ja: Text {
        summary: "IKE の ID が一致していない",
        checks: &[
            "IKE ゲートウェイの Local Identification と Peer Identification（タイプと値）を、対向装置自身の ID および対向装置が期待する ID と比較してください。",
            "IKEv1 メインモードで事前共有鍵を使う場合、ピア ID は IP アドレスでなければなりません。",
        ],
    },
};

static CERTIFICATE: Advice = Advice {
    en: Text {
        summary: "certificate authentication failed",
        checks: &[
            "Check the local certificate and the certificate profile of the IKE gateway on the firewall.",
            "Check that the peer's certificate is valid, not expired, and issued by a CA the certificate profile trusts.",
        ],
    },
    ja: Text {
        summary: "証明書認証に失敗した",
        checks: &[
            "ファイアウォールで IKE ゲートウェイのローカル証明書と証明書プロファイルを確認してください。",
            "対向装置の証明書が有効で期限切れでないこと、証明書プロファイルが信頼する CA から発行されていることを確認してください。",
        ],
    },
};

static AUTHENTICATION: Advice = Advice {
    en: Text {
        summary: "authentication failed",
        checks: &[
            "Check that both sides use the same authentication method (pre-shared key or certificate) and the same key or trusted certificates.",
            "`less mp-log ikemgr.log` shows which side rejected the authentication.",
        ],
    },
    ja: Text {
        summary: "認証に失敗した",
        checks: &[
            "両側で同じ認証方式（事前共有鍵または証明書）を使い、同じ鍵または信頼された証明書を使っていることを確認してください。",
            "`less mp-log ikemgr.log` で、どちら側が認証を拒否したかを確認できます。",
        ],
    },
};

static P1_OTHER: Advice = Advice {
    en: Text {
        summary: "another Phase 1 failure",
        checks: &[
            "Read the event's description in Monitor > Logs > System with the filter `(subtype eq vpn)`.",
            "`show vpn ike-sa gateway <gateway>`; `less mp-log ikemgr.log` for the detail.",
        ],
    },
    ja: Text {
        summary: "その他の Phase 1 の失敗",
        checks: &[
            "Monitor > Logs > System でフィルター `(subtype eq vpn)` を指定し、イベントの Description を確認してください。",
            "`show vpn ike-sa gateway <gateway>` で状態を、`less mp-log ikemgr.log` で詳細を確認してください。",
        ],
    },
};

static PROXY_ID_MISMATCH: Advice = Advice {
    en: Text {
        summary: "the proxy IDs (traffic selectors) differ",
        checks: &[
            "Compare Network > IPSec Tunnels > the tunnel > Proxy IDs (local, remote, protocol) with the peer's encryption domain: they must mirror each other exactly.",
            "A policy-based peer needs one proxy ID per local/remote subnet pair it proposes.",
        ],
    },
    ja: Text {
        summary: "プロキシ ID（トラフィックセレクター）が一致していない",
        checks: &[
            "Network > IPSec Tunnels > 対象のトンネル > Proxy IDs（ローカル、リモート、プロトコル）を対向装置の暗号化ドメインと比較してください。ローカルとリモートを入れ替えると完全に一致する必要があります。",
            "対向装置がポリシーベース VPN の場合、対向装置が提案するローカル／リモートのサブネットの組ごとにプロキシ ID が 1 つずつ必要です。",
        ],
    },
};

static P2_PROPOSAL_MISMATCH: Advice = Advice {
    en: Text {
        summary: "no Phase 2 (IPsec) proposal acceptable to both sides",
        checks: &[
            "Compare the IPSec Crypto profile (ESP encryption, authentication, DH group, lifetime) with the peer's Phase 2 proposal.",
            "`less mp-log ikemgr.log` shows the parameter that was rejected.",
        ],
    },
    ja: Text {
        summary: "両側で合意できる Phase 2 (IPsec) のプロポーザルがない",
        checks: &[
            "IPSec Crypto プロファイル（ESP の暗号化、認証、DH グループ、ライフタイム）を対向装置の Phase 2 プロポーザルと比較してください。",
            "`less mp-log ikemgr.log` で、拒否されたパラメータを確認できます。",
        ],
    },
};

static PFS_MISMATCH: Advice = Advice {
    en: Text {
        summary: "the PFS DH groups differ",
        checks: &[
            "Set the same PFS DH group on both sides: IPSec Crypto profile > DH Group on the firewall (no-pfs only when the peer has PFS off).",
        ],
    },
    ja: Text {
        summary: "PFS の DH グループが一致していない",
        checks: &[
            "両側で同じ PFS の DH グループを設定してください。ファイアウォールでは IPSec Crypto プロファイル > DH Group です（no-pfs は対向装置で PFS が無効な場合に限ります）。",
        ],
    },
};

static P2_TIMEOUT: Advice = Advice {
    en: Text {
        summary: "the peer did not answer the Phase 2 negotiation",
        checks: &[
            "Check that Phase 1 is up: `show vpn ike-sa gateway <gateway>`.",
            "Check that ESP (IP protocol 50), or UDP 4500 with NAT traversal, passes between the peers, and the peer's Phase 2 settings.",
            "`test vpn ipsec-sa tunnel <tunnel>` starts a negotiation to watch.",
        ],
    },
    ja: Text {
        summary: "対向装置が Phase 2 のネゴシエーションに応答しなかった",
        checks: &[
            "`show vpn ike-sa gateway <gateway>` で Phase 1 が確立しているか確認してください。",
            "ピア間で ESP（IP プロトコル 50）、NAT トラバーサル使用時は UDP 4500 が通過すること、および対向装置の Phase 2 の設定を確認してください。",
            "`test vpn ipsec-sa tunnel <tunnel>` でネゴシエーションを開始させ、その経過を確認できます。",
        ],
    },
};

static NO_PHASE1_SA: Advice = Advice {
    en: Text {
        summary: "Phase 2 was requested but no Phase 1 SA is up",
        checks: &[
            "Phase 1 is not up: fix it first (`show vpn ike-sa`, `test vpn ike-sa gateway <gateway>`).",
            "If the peer keeps a stale Phase 1 SA after a rekey or reboot, clear it on the peer.",
        ],
    },
    ja: Text {
        summary: "Phase 2 が要求されたが、確立済みの Phase 1 SA がない",
        checks: &[
            "Phase 1 が確立していません。先に Phase 1 を復旧させてください（`show vpn ike-sa`、`test vpn ike-sa gateway <gateway>`）。",
            "リキーや再起動の後に対向装置が古い Phase 1 SA を保持し続けている場合は、対向装置側でその SA をクリアしてください。",
        ],
    },
};

static P2_OTHER: Advice = Advice {
    en: Text {
        summary: "another Phase 2 failure",
        checks: &[
            "Read the event's description in Monitor > Logs > System with the filter `(subtype eq vpn)`.",
            "`show vpn ipsec-sa tunnel <tunnel>`; `less mp-log ikemgr.log` for the detail.",
        ],
    },
    ja: Text {
        summary: "その他の Phase 2 の失敗",
        checks: &[
            "Monitor > Logs > System でフィルター `(subtype eq vpn)` を指定し、イベントの Description を確認してください。",
            "`show vpn ipsec-sa tunnel <tunnel>` で状態を、`less mp-log ikemgr.log` で詳細を確認してください。",
        ],
    },
};

const DPD_DOWN: Advice = Advice {
    en: Text {
        summary: "dead peer detection declared the peer unreachable",
        checks: &[
            "Check that the peer is up and answers: from the firewall CLI, `ping source <local IP> host <peer IP>`.",
            "Check the path between the peers (ISP links, NAT devices and firewalls in between) for loss of UDP 500 and 4500.",
            "Compare the DPD interval and retries on both sides (IKE Gateways > the gateway > Advanced Options > Dead Peer Detection).",
        ],
    },
    ja: Text {
        summary: "DPD（Dead Peer Detection）により対向装置が到達不能と判断された",
        checks: &[
            "対向装置が稼働していて応答するか確認してください。ファイアウォールの CLI で `ping source <local IP> host <peer IP>` を実行します。",
            "ピア間の経路（ISP 回線、途中の NAT 装置やファイアウォール）で UDP 500 と 4500 が失われていないか確認してください。",
            "両側の DPD の Interval と Retry を比較してください（IKE Gateways > 対象のゲートウェイ > Advanced Options > Dead Peer Detection）。",
        ],
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    fn every_case() -> impl Iterator<Item = (Phase, Pattern)> {
        [Phase::One, Phase::Two].into_iter().flat_map(|phase| {
            Pattern::ALL
                .into_iter()
                .filter(move |p| p.belongs_to(phase))
                .map(move |p| (phase, p))
        })
    }

    #[test]
    fn advice_exists_for_every_pattern_of_each_phase() {
        for (phase, pattern) in every_case() {
            assert!(!checks(phase, pattern).is_empty(), "{phase:?} {pattern:?}");
            assert!(!summary(phase, pattern).is_empty());
        }
    }

    #[test]
    fn advice_japanese_exists_for_every_pattern_of_each_phase() {
        let is_japanese = |s: &str| s.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c));
        for (phase, pattern) in every_case() {
            let summary = summary_in(Lang::Ja, phase, pattern);
            assert!(is_japanese(summary), "{phase:?} {pattern:?}: {summary}");
            let ja = checks_in(Lang::Ja, phase, pattern);
            assert_eq!(
                ja.len(),
                checks_in(Lang::En, phase, pattern).len(),
                "{phase:?} {pattern:?}: one Japanese check per English check"
            );
            for check in ja {
                assert!(is_japanese(check), "{phase:?} {pattern:?}: {check}");
            }
        }
        assert!(is_japanese(DPD_DOWN_SUMMARY_JA));
        assert_eq!(DPD_DOWN_CHECKS_JA.len(), DPD_DOWN_CHECKS.len());
        assert!(DPD_DOWN_CHECKS_JA.iter().all(|c| is_japanese(c)));
    }

    #[test]
    fn advice_english_wrappers_are_the_english_text() {
        for (phase, pattern) in every_case() {
            assert_eq!(
                summary(phase, pattern),
                summary_in(Lang::En, phase, pattern)
            );
            assert_eq!(checks(phase, pattern), checks_in(Lang::En, phase, pattern));
        }
        assert_eq!(dpd_down_summary_in(Lang::En), DPD_DOWN_SUMMARY);
        assert_eq!(dpd_down_checks_in(Lang::Ja), DPD_DOWN_CHECKS_JA);
        assert!(summary(Phase::One, Pattern::PeerNotConfigured).contains("IKE gateway"));
        assert!(DPD_DOWN_SUMMARY.contains("dead peer detection"));
    }

    /// Commands, log texts and `<placeholders>` stay inside backticks in
    /// every language, and the commands are the same in both: the text is
    /// printed by `diagnose` and pasted into Markdown by the runbook.
    #[test]
    fn advice_commands_are_in_backticks_and_match_across_languages() {
        let code_spans = |s: &str| -> Vec<String> {
            assert_eq!(s.matches('`').count() % 2, 0, "unbalanced backticks: {s}");
            s.split('`').skip(1).step_by(2).map(str::to_owned).collect()
        };
        let prose = |s: &str| -> String { s.split('`').step_by(2).collect() };
        let mut texts: Vec<(&[&str], &[&str])> = every_case()
            .map(|(ph, p)| (checks_in(Lang::En, ph, p), checks_in(Lang::Ja, ph, p)))
            .collect();
        texts.push((DPD_DOWN_CHECKS, DPD_DOWN_CHECKS_JA));
        for (en, ja) in texts {
            for (e, j) in en.iter().zip(ja) {
                for s in [e, j] {
                    assert!(
                        !prose(s).contains(['<', '*', '_']),
                        "Markdown in prose: {s}"
                    );
                }
                assert_eq!(code_spans(e), code_spans(j), "{e} / {j}");
            }
        }
    }

    #[test]
    fn advice_lang_parses_from_the_command_line() {
        use clap::ValueEnum;
        assert_eq!(Lang::from_str("ja", true), Ok(Lang::Ja));
        assert_eq!(Lang::default(), Lang::En);
        for lang in Lang::ALL {
            assert_eq!(Lang::from_str(lang.as_str(), false), Ok(lang));
        }
    }

    #[test]
    fn advice_runbook_section_is_named_for_every_pattern() {
        for (phase, pattern) in every_case() {
            assert!(runbook_section(phase, pattern).starts_with("Ike"));
        }
    }
}
