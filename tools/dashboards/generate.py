#!/usr/bin/env python3
"""Writes dashboards/ike-overview.json and dashboards/ike-exporter.json.

The dashboards are generated so that every panel carries the full options
Grafana saves (the schema from @grafana/schema requires them), every query
uses the same variables, and the layout is computed. Edit this file, then:

    python3 tools/dashboards/generate.py          # rewrite the JSON
    python3 tools/dashboards/generate.py --check  # fail if the JSON is stale

Standard library only. validate.sh runs --check before the schema checks.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_VERSION = 39  # Grafana 11.0-11.2 (deploy/docker-compose.yml runs 11.2); newer ones migrate it
DS = {"type": "prometheus", "uid": "${datasource}"}

# Label filters. Domain metrics carry device and peer; ike_events_total has no peer.
SCRAPE = 'job=~"$job",instance=~"$instance"'
DEVICE = SCRAPE + ',device=~"$device"'
PEER = DEVICE + ',peer=~"$peer"'


def new_aware_increase(metric: str, window: str) -> str:
    """increase() that also counts series created inside the window.

    The exporter creates a failure series at its first failure, with value 1:
    increase() alone never sees that first failure (a new failing peer would
    show nothing). Series that did not exist `window` ago count their whole
    value instead.
    """
    born = f"({metric} unless {metric} offset {window})"
    return f"(increase({metric}[{window}]) unless {born}) or {born}"


# ---------------------------------------------------------------- panels


class Layout:
    """Places panels left to right, wrapping at 24 columns."""

    def __init__(self):
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1
        self.panels = []

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        self.newline()
        self.panels.append(
            {
                "collapsed": False,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
                "id": self._id(),
                "panels": [],
                "title": title,
                "type": "row",
            }
        )
        self.y += 1

    def newline(self):
        if self.x:
            self.y += self.row_h
            self.x = 0
            self.row_h = 0

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.newline()
        panel = {"id": self._id(), **panel}
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)
        if self.x >= 24:
            self.newline()


def target(expr, ref="A", legend="__auto", instant=False, table=False):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "range": not instant,
        "instant": instant,
        "refId": ref,
    }
    if table:
        t["format"] = "table"
    return t


def thresholds(*steps):
    """steps: (value or None, colour) pairs; the first value is None (-Infinity)."""
    return {
        "mode": "absolute",
        "steps": [{"color": c, "value": v} for v, c in steps],
    }


UP_DOWN = [
    {
        "type": "value",
        "options": {
            "0": {"color": "red", "index": 1, "text": "down"},
            "1": {"color": "green", "index": 0, "text": "up"},
        },
    }
]
UP_DOWN_THRESHOLDS = thresholds((None, "red"), (1, "green"))

LEGEND_LIST = {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True}
LEGEND_TABLE = {
    "calcs": ["max", "sum"],
    "displayMode": "table",
    "placement": "right",
    "showLegend": True,
}
TOOLTIP = {"mode": "multi", "sort": "desc"}
HIDE_FROM = {"legend": False, "tooltip": False, "viz": False}


def timeseries_custom(bars=False, stack=False):
    return {
        "axisBorderShow": False,
        "axisCenteredZero": False,
        "axisColorMode": "text",
        "axisLabel": "",
        "axisPlacement": "auto",
        "barAlignment": 0,
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 80 if bars else 10,
        "gradientMode": "none",
        "hideFrom": HIDE_FROM,
        "insertNulls": False,
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "pointSize": 5,
        "scaleDistribution": {"type": "linear"},
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": "off"},
    }


def timeseries(title, description, targets, unit="short", bars=False, stack=False, legend=None,
               decimals=None, minimum=0):
    defaults = {
        "color": {"mode": "palette-classic"},
        "custom": timeseries_custom(bars, stack),
        "mappings": [],
        "thresholds": thresholds((None, "green")),
        "unit": unit,
    }
    if minimum is not None:
        defaults["min"] = minimum
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": legend or LEGEND_LIST, "tooltip": TOOLTIP},
        "targets": targets,
        "title": title,
        "type": "timeseries",
    }


def stat(title, description, targets, mappings=None, steps=None, unit="short", text_mode="value",
         color_mode="background", decimals=None):
    defaults = {
        "color": {"mode": "thresholds"},
        "mappings": mappings or [],
        "thresholds": steps or thresholds((None, "green")),
        "unit": unit,
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "colorMode": color_mode,
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "percentChangeColorMode": "standard",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "showPercentChange": False,
            "textMode": text_mode,
            "wideLayout": True,
        },
        "targets": targets,
        "title": title,
        "type": "stat",
    }


def state_timeline(title, description, targets, mappings, steps):
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "thresholds"},
                "custom": {"fillOpacity": 80, "hideFrom": HIDE_FROM, "lineWidth": 0},
                "mappings": mappings,
                "thresholds": steps,
            },
            "overrides": [],
        },
        "options": {
            "alignValue": "left",
            "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": False},
            "mergeValues": True,
            "rowHeight": 0.9,
            "showValue": "auto",
            "tooltip": {"mode": "single", "sort": "none"},
        },
        "targets": targets,
        "title": title,
        "type": "state-timeline",
    }


def table(title, description, targets, transformations, overrides=(), sort_by=None):
    options = {"cellHeight": "sm", "frameIndex": 0, "showHeader": True}
    if sort_by:
        options["sortBy"] = [{"desc": True, "displayName": sort_by}]
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {
            "defaults": {
                "color": {"mode": "thresholds"},
                "custom": {
                    "align": "auto",
                    "cellOptions": {"type": "auto"},
                    "filterable": True,
                    "inspect": False,
                },
                "mappings": [],
                "thresholds": thresholds((None, "green")),
            },
            "overrides": list(overrides),
        },
        "options": options,
        "targets": targets,
        "title": title,
        "transformations": transformations,
        "type": "table",
    }


def text(title, content):
    return {
        "description": "",
        "options": {"content": content, "mode": "markdown"},
        "title": title,
        "type": "text",
    }


def organize(rename, order, exclude=("Time",)):
    return {
        "id": "organize",
        "options": {
            "excludeByName": {name: True for name in exclude},
            "indexByName": {name: i for i, name in enumerate(order)},
            "renameByName": rename,
        },
    }


def by_name(name, *properties):
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": k, "value": v} for k, v in properties],
    }


NOT_LOGGED = [
    {"type": "special", "options": {"match": "empty", "result": {"index": 0, "text": "(not logged)"}}},
    {"type": "special", "options": {"match": "null", "result": {"index": 1, "text": "(not logged)"}}},
]


# ---------------------------------------------------------------- variables


def datasource_variable():
    return {
        "hide": 0,
        "includeAll": False,
        "label": "Data source",
        "multi": False,
        "name": "datasource",
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
        "type": "datasource",
    }


def query_variable(name, label, query, description):
    return {
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "datasource": DS,
        "description": description,
        "hide": 0,
        "includeAll": True,
        "label": label,
        "multi": True,
        "name": name,
        "options": [],
        "query": query,
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def scrape_variables():
    return [
        datasource_variable(),
        query_variable(
            "job", "Job", "label_values(ike_exporter_build_info, job)",
            "Prometheus jobs that scrape an ike_exporter",
        ),
        query_variable(
            "instance", "Exporter", 'label_values(ike_exporter_build_info{job=~"$job"}, instance)',
            "ike_exporter instances",
        ),
    ]


def dashboard(uid, title, description, panels, variables, links):
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "links": links,
        "liveNow": False,
        "panels": panels,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["ike_exporter", "ipsec", "pan-os"],
        "templating": {"list": variables},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


def link(title, uid, tooltip):
    return {
        "asDropdown": False,
        "icon": "dashboard",
        "includeVars": True,
        "keepTime": True,
        "tags": [],
        "targetBlank": False,
        "title": title,
        "tooltip": tooltip,
        "type": "link",
        "url": f"/d/{uid}",
    }


# ---------------------------------------------------------------- overview

# What to check per pattern: src/advice.rs (English), verbatim, in the order of
# README's patterns table. tests/integration/dashboards.rs holds the text panels to it.
ADVICE_PHASE1 = [
    ('peer_not_configured', 'the firewall has no IKE gateway for this peer address', [
        "Check Network > Network Profiles > IKE Gateways > Peer Address on the firewall: it must be the peer's address. The peer device needs no check.",
        'If the address is not one of your VPN peers, this is an internet scanner probing UDP 500: no action is needed.',
    ]),
    ('timeout', 'the peer did not answer the Phase 1 negotiation', [
        'From the firewall CLI: `ping source <local IP> host <peer IP>`.',
        'Look for a security policy (untrust to untrust) that denies the traffic; allow the applications `ike` and `ipsec`. Make the same check on the peer.',
        'Check the Phase 1 parameters (peer address, IKE version, exchange mode) on the firewall, then on the peer.',
    ]),
    ('proposal_mismatch', 'no Phase 1 (IKE) proposal acceptable to both sides', [
        "Compare the IKE Crypto profile (DH group, encryption, authentication, lifetime) with the peer's Phase 1 proposal.",
        'On the firewall: `debug ike global on debug`, reproduce, then `less mp-log ikemgr.log` and find `Compared: DB:Peer`: each line is parameter = firewall:peer, and `rejected …` names the culprit. Afterwards: `debug ike global on normal`.',
    ]),
    ('psk_mismatch', 'the pre-shared keys differ', [
        'Re-enter the pre-shared key on the firewall (Network > Network Profiles > IKE Gateways > the gateway > Pre-shared Key).',
        'Then re-enter the same key on the peer.',
    ]),
    ('id_mismatch', 'the IKE identities do not match', [
        "Compare Local Identification and Peer Identification of the IKE gateway (type and value) with the peer's own and expected IDs.",
        'With a pre-shared key in IKEv1 main mode the peer ID must be an IP address.',
    ]),
    ('certificate', 'certificate authentication failed', [
        'Check the local certificate and the certificate profile of the IKE gateway on the firewall.',
        "Check that the peer's certificate is valid, not expired, and issued by a CA the certificate profile trusts.",
    ]),
    ('authentication', 'authentication failed', [
        'Check that both sides use the same authentication method (pre-shared key or certificate) and the same key or trusted certificates.',
        '`less mp-log ikemgr.log` shows which side rejected the authentication.',
    ]),
    ('other', 'another Phase 1 failure', [
        "Read the event's description in Monitor > Logs > System with the filter `(subtype eq vpn)`.",
        '`show vpn ike-sa gateway <gateway>`; `less mp-log ikemgr.log` for the detail.',
    ]),
]
ADVICE_PHASE2 = [
    ('proxy_id_mismatch', 'the proxy IDs (traffic selectors) differ', [
        "Compare Network > IPSec Tunnels > the tunnel > Proxy IDs (local, remote, protocol) with the peer's encryption domain: they must mirror each other exactly.",
        'A policy-based peer needs one proxy ID per local/remote subnet pair it proposes.',
    ]),
    ('proposal_mismatch', 'no Phase 2 (IPsec) proposal acceptable to both sides', [
        "Compare the IPSec Crypto profile (ESP encryption, authentication, DH group, lifetime) with the peer's Phase 2 proposal.",
        '`less mp-log ikemgr.log` shows the parameter that was rejected.',
    ]),
    ('pfs_mismatch', 'the PFS DH groups differ', [
        'Set the same PFS DH group on both sides: IPSec Crypto profile > DH Group on the firewall (no-pfs only when the peer has PFS off).',
    ]),
    ('timeout', 'the peer did not answer the Phase 2 negotiation', [
        'Check that Phase 1 is up: `show vpn ike-sa gateway <gateway>`.',
        "Check that ESP (IP protocol 50), or UDP 4500 with NAT traversal, passes between the peers, and the peer's Phase 2 settings.",
        '`test vpn ipsec-sa tunnel <tunnel>` starts a negotiation to watch.',
    ]),
    ('no_phase1_sa', 'Phase 2 was requested but no Phase 1 SA is up', [
        'Phase 1 is not up: fix it first (`show vpn ike-sa`, `test vpn ike-sa gateway <gateway>`).',
        'If the peer keeps a stale Phase 1 SA after a rekey or reboot, clear it on the peer.',
    ]),
    ('other', 'another Phase 2 failure', [
        "Read the event's description in Monitor > Logs > System with the filter `(subtype eq vpn)`.",
        '`show vpn ipsec-sa tunnel <tunnel>`; `less mp-log ikemgr.log` for the detail.',
    ]),
]


def what_to_check(intro, advice):
    parts = [intro]
    for pattern, summary, checks in advice:
        parts.append(f"**`{pattern}`**: {summary}\n")
        parts.extend(f"{i}. {check}" for i, check in enumerate(checks, 1))
        parts.append("")
    return "\n".join(parts)


def overview():
    lay = Layout()
    p1_fail = f"ike_phase1_failures_total{{{PEER}}}"
    p2_fail = f"ike_phase2_failures_total{{{PEER}}}"

    lay.row("Status now")
    down_steps = thresholds((None, "green"), (1, "red"))
    lay.add(stat(
        "IKE gateways down",
        "IKE gateways (Phase 1) whose latest negotiation outcome was a failure or DPD down.",
        [target(f"count(ike_phase1_up{{{PEER}}} == 0) or vector(0)", instant=True)],
        steps=down_steps,
    ), 6, 4)
    lay.add(stat(
        "IPSec tunnels down",
        "IPSec tunnels (Phase 2) whose latest negotiation outcome was a failure.",
        [target(f"count(ike_phase2_up{{{PEER}}} == 0) or vector(0)", instant=True)],
        steps=down_steps,
    ), 6, 4)
    lay.add(stat(
        "Phase 1 failures in range",
        "Phase 1 negotiation failures in the selected time range, every pattern.",
        [target(f"round(sum({new_aware_increase(p1_fail, '$__range')})) or vector(0)", instant=True)],
        steps=thresholds((None, "green"), (1, "orange")), decimals=0,
    ), 6, 4)
    lay.add(stat(
        "Phase 2 failures in range",
        "Phase 2 negotiation failures in the selected time range, every pattern.",
        [target(f"round(sum({new_aware_increase(p2_fail, '$__range')})) or vector(0)", instant=True)],
        steps=thresholds((None, "green"), (1, "orange")), decimals=0,
    ), 6, 4)

    lay.add(stat(
        "Phase 1 status (IKE gateways)",
        "One tile per device, IKE gateway and peer, coloured like the firewall's IKE gateway light "
        "(Network > IKE Gateways): green up, red down. Up when the latest Phase 1 negotiation "
        "succeeded; down after a failure or DPD down. Failures that name no gateway "
        "(peer_not_configured) have no tile.",
        [target(f"ike_phase1_up{{{PEER}}}", legend="{{device}} {{gateway}} ({{peer}})", instant=True)],
        mappings=UP_DOWN, steps=UP_DOWN_THRESHOLDS, text_mode="value_and_name",
    ), 12, 8)
    lay.add(stat(
        "Phase 2 status (IPSec tunnels)",
        "One tile per device, IPSec tunnel and peer, coloured like the firewall's tunnel light "
        "(Network > IPSec Tunnels): green up, red down. Up when the latest Phase 2 negotiation "
        "succeeded; down after a failure.",
        [target(f"ike_phase2_up{{{PEER}}}", legend="{{device}} {{tunnel}} ({{peer}})", instant=True)],
        mappings=UP_DOWN, steps=UP_DOWN_THRESHOLDS, text_mode="value_and_name",
    ), 12, 8)
    lay.add(state_timeline(
        "Phase 1 status over time",
        "ike_phase1_up per device, IKE gateway and peer: when each went down and came back.",
        [target(f"ike_phase1_up{{{PEER}}}", legend="{{device}} {{gateway}} ({{peer}})")],
        UP_DOWN, UP_DOWN_THRESHOLDS,
    ), 12, 8)
    lay.add(state_timeline(
        "Phase 2 status over time",
        "ike_phase2_up per device, IPSec tunnel and peer: when each went down and came back.",
        [target(f"ike_phase2_up{{{PEER}}}", legend="{{device}} {{tunnel}} ({{peer}})")],
        UP_DOWN, UP_DOWN_THRESHOLDS,
    ), 12, 8)

    lay.row("Failures")
    lay.add(timeseries(
        "Phase 1 failures by pattern",
        "Phase 1 negotiation failures per pattern in each interval (a failure series' first "
        "failure included). The patterns and what to check are listed under \"What to check\".",
        [target(f"sum by (pattern) ({new_aware_increase(p1_fail, '$__rate_interval')})",
                legend="{{pattern}}")],
        bars=True, stack=True, legend=LEGEND_TABLE,
    ), 12, 9)
    lay.add(timeseries(
        "Phase 2 failures by pattern",
        "Phase 2 negotiation failures per pattern in each interval (a failure series' first "
        "failure included).",
        [target(f"sum by (pattern) ({new_aware_increase(p2_fail, '$__rate_interval')})",
                legend="{{pattern}}")],
        bars=True, stack=True, legend=LEGEND_TABLE,
    ), 12, 9)

    failing = (
        "topk(20, round(sum by (device, peer) (\n"
        f"  label_replace({new_aware_increase(p1_fail, '$__range')}, \"phase\", \"1\", \"\", \"\")\n"
        f"  or label_replace({new_aware_increase(p2_fail, '$__range')}, \"phase\", \"2\", \"\", \"\")\n"
        ")) > 0)"
    )
    latest = (
        "1000 * topk by (device, peer) (1,\n"
        f"  label_replace(max by (device, peer, pattern) (ike_phase1_last_failure_timestamp_seconds{{{PEER}}}), "
        "\"phase\", \"1\", \"\", \"\")\n"
        f"  or label_replace(max by (device, peer, pattern) (ike_phase2_last_failure_timestamp_seconds{{{PEER}}}), "
        "\"phase\", \"2\", \"\", \"\")\n"
        ")\nand on (device, peer)\n" + failing
    )
    lay.add(table(
        "Top failing peers",
        "The 20 peers with the most Phase 1 and Phase 2 failures in the selected time range, with "
        "the pattern and phase of their latest failure and when it was seen.",
        [
            target(failing, ref="A", instant=True, table=True),
            target(latest, ref="B", instant=True, table=True),
        ],
        [
            {"id": "merge", "options": {}},
            organize(
                {
                    "device": "Device",
                    "peer": "Peer",
                    "Value #A": "Failures",
                    "phase": "Latest failure phase",
                    "pattern": "Latest pattern",
                    "Value #B": "Last failure",
                },
                ["Time", "device", "peer", "Value #A", "phase", "pattern", "Value #B"],
            ),
        ],
        overrides=[
            by_name("Failures", ("decimals", 0)),
            by_name("Last failure", ("unit", "dateTimeAsIso")),
        ],
        sort_by="Failures",
    ), 24, 8)

    lay.row("Mismatches")
    proposal = (
        "round(sum by (device, peer, phase, parameter, local, remote) (\n  "
        + new_aware_increase(f"ike_proposal_mismatches_total{{{PEER}}}", "$__range")
        + "\n)) > 0"
    )
    lay.add(table(
        "Proposal mismatches",
        "Proposal parameters that differed in the selected time range (from ikemgr.log's "
        "Compared: DB:Peer / rejected lines, IKEv2's 'was not presented', 'pfs group mismatched'): "
        "the firewall's value against the peer's. Parameter names are ikemgr's: enctype, encklen, "
        "hashtype, authmethod, dh_group (the PFS group in Phase 2), lifetime, lifebyte, …",
        [target(proposal, instant=True, table=True)],
        [organize(
            {
                "device": "Device",
                "peer": "Peer",
                "phase": "Phase",
                "parameter": "Parameter",
                "local": "Firewall value",
                "remote": "Peer value",
                "Value": "Count",
            },
            ["Time", "device", "peer", "phase", "parameter", "local", "remote", "Value"],
        )],
        overrides=[
            by_name("Firewall value", ("mappings", NOT_LOGGED)),
            by_name("Peer value", ("mappings", NOT_LOGGED)),
        ],
        sort_by="Count",
    ), 12, 8)
    proxy = (
        "round(sum by (device, peer, tunnel, local_id, remote_id) (\n  "
        + new_aware_increase(f"ike_proxy_id_mismatches_total{{{PEER}}}", "$__range")
        + "\n)) > 0"
    )
    lay.add(table(
        "Proxy-ID mismatches",
        "Proxy IDs (traffic selectors) the peer proposed that the firewall rejected in the selected "
        "time range: compare them with the tunnel's Proxy IDs. IKEv2 traffic-selector failures name "
        "none in the log.",
        [target(proxy, instant=True, table=True)],
        [organize(
            {
                "device": "Device",
                "peer": "Peer",
                "tunnel": "Tunnel",
                "local_id": "Firewall proxy ID (local)",
                "remote_id": "Peer proxy ID (remote)",
                "Value": "Count",
            },
            ["Time", "device", "peer", "tunnel", "local_id", "remote_id", "Value"],
        )],
        overrides=[
            by_name("Firewall proxy ID (local)", ("mappings", NOT_LOGGED)),
            by_name("Peer proxy ID (remote)", ("mappings", NOT_LOGGED)),
        ],
        sort_by="Count",
    ), 12, 8)

    lay.row("What to check")
    lay.add(text("What to check: Phase 1 (IKE gateways)", what_to_check(
        "Phase 1 is IKEv1 main/aggressive mode or IKEv2 IKE_SA. Each failure's `pattern`, and what "
        "to check for it (as `ike_exporter diagnose` prints it):\n",
        ADVICE_PHASE1,
    )), 12, 22)
    lay.add(text("What to check: Phase 2 (IPSec tunnels)", what_to_check(
        "Phase 2 is IKEv1 quick mode or IKEv2 CHILD_SA. Each failure's `pattern`, and what to "
        "check for it (as `ike_exporter diagnose` prints it):\n",
        ADVICE_PHASE2,
    )), 12, 22)

    lay.row("Events")
    events = f"ike_events_total{{{DEVICE}}}"
    lay.add(timeseries(
        "Events by event ID",
        "Every PAN-OS vpn SYSTEM event per event ID in each interval: negotiations, deletes, DPD, "
        "key installs, tunnel status. The peer filter does not apply (events carry no peer).",
        [target(f"sum by (event_id) ({new_aware_increase(events, '$__rate_interval')})",
                legend="{{event_id}}")],
        bars=True, stack=True, legend=LEGEND_TABLE,
    ), 16, 9)
    lay.add(table(
        "Events in range",
        "vpn SYSTEM events per device and event ID in the selected time range.",
        [target(
            f"round(sum by (device, event_id) ({new_aware_increase(events, '$__range')})) > 0",
            instant=True, table=True,
        )],
        [organize(
            {"device": "Device", "event_id": "Event ID", "Value": "Events"},
            ["Time", "device", "event_id", "Value"],
        )],
        sort_by="Events",
    ), 8, 9)

    # Peers: from status and failure metrics alike (a peer that only failed, e.g.
    # peer_not_configured, has no *_up series), so query_result with the peer label.
    peers = (
        "group by (peer) (ike_phase1_up{D} or ike_phase2_up{D} "
        "or ike_phase1_failures_total{D} or ike_phase2_failures_total{D})"
    ).replace("{D}", "{" + DEVICE + "}")
    peer = query_variable(
        "peer", "Peer", f"query_result({peers})",
        "Peer addresses (from status and failure metrics)",
    )
    peer["regex"] = '/peer="([^"]*)"/'
    variables = scrape_variables() + [
        query_variable(
            "device", "Device",
            'label_values(ike_events_total{job=~"$job",instance=~"$instance"}, device)',
            "Firewalls (every device that logged a vpn event)",
        ),
        peer,
    ]
    return dashboard(
        "ike-overview",
        "IKE / IPsec VPN overview (PAN-OS)",
        "Why PAN-OS IPsec VPNs fail: gateway and tunnel status, failures by pattern, proposal and "
        "proxy-ID mismatches and what to check, from ike_exporter.",
        lay.panels,
        variables,
        [link("ike_exporter health", "ike-exporter", "The exporter's own health")],
    )


# ---------------------------------------------------------------- exporter


def exporter():
    lay = Layout()
    s = f"{{{SCRAPE}}}"

    def rate(metric, by, window="$__rate_interval"):
        return f"sum by ({by}) (rate({metric}{s}[{window}]))"

    def inc(metric, by):
        return f"sum by ({by}) (increase({metric}{s}[$__rate_interval]))"

    lay.row("Exporter")
    lay.add(stat(
        "Scrape up",
        "Prometheus' up for the exporter's targets.",
        [target(f"up{s}", legend="{{instance}}", instant=True)],
        mappings=UP_DOWN, steps=UP_DOWN_THRESHOLDS, text_mode="value_and_name",
    ), 6, 4)
    lay.add(stat(
        "Version",
        "ike_exporter_build_info: version and revision of each instance.",
        [target(f"ike_exporter_build_info{s}", legend="{{version}} ({{revision}})", instant=True)],
        text_mode="name", color_mode="none",
    ), 6, 4)
    lay.add(stat(
        "Last configuration reload",
        "1 if the last SIGHUP reload succeeded; on failure the previous configuration stays.",
        [target(f"ike_exporter_config_last_reload_successful{s}", legend="{{instance}}", instant=True)],
        mappings=[{"type": "value", "options": {
            "0": {"color": "red", "index": 1, "text": "failed"},
            "1": {"color": "green", "index": 0, "text": "ok"},
        }}],
        steps=UP_DOWN_THRESHOLDS, text_mode="value_and_name",
    ), 6, 4)
    lay.add(stat(
        "Uptime",
        "Time since the exporter process started.",
        [target(f"time() - process_start_time_seconds{s}", legend="{{instance}}", instant=True)],
        unit="s", color_mode="none",
    ), 6, 4)

    lay.row("Input")
    lay.add(timeseries(
        "Lines read per second by source",
        "Lines (syslog messages) read per second, per configured source.",
        [target(rate("ike_exporter_lines_total", "source"), legend="{{source}}")],
        unit="ops",
    ), 12, 8)
    lay.add(timeseries(
        "Bytes read per second by source",
        "Bytes read per second, per configured source.",
        [target(rate("ike_exporter_bytes_total", "source"), legend="{{source}}")],
        unit="Bps",
    ), 12, 8)
    parsed = (
        f"{rate('ike_exporter_lines_total', 'source')}\n"
        f"- {rate('ike_exporter_lines_ignored_total', 'source')}\n"
        f"- ({rate('ike_exporter_parse_errors_total', 'source')} "
        f"or 0 * {rate('ike_exporter_lines_total', 'source')})"
    )
    lay.add(timeseries(
        "Ignored vs parsed lines per second",
        "Per source: lines that are not PAN-OS vpn events (ignored by the prefilter: TRAFFIC, "
        "THREAT, other SYSTEM logs; normal), vpn records parsed (lines - ignored - parse errors), "
        "and malformed records.",
        [
            target(rate("ike_exporter_lines_ignored_total", "source"), ref="A",
                   legend="{{source}} ignored"),
            target(parsed, ref="B", legend="{{source}} parsed"),
            target(rate("ike_exporter_parse_errors_total", "source"), ref="C",
                   legend="{{source}} parse errors"),
        ],
        unit="ops",
    ), 12, 8)
    lay.add(timeseries(
        "Parse errors by reason",
        "Malformed vpn records and over-long lines per interval, by source and reason (csv, "
        "syslog_header, cef, leef, export, too_long, …).",
        [target(inc("ike_exporter_parse_errors_total", "source, reason"),
                legend="{{source}} {{reason}}")],
        bars=True, stack=True,
    ), 12, 8)
    lay.add(timeseries(
        "Seconds since the last line by source",
        "How long ago each source delivered its last line: a silent source means the firewall "
        "stopped sending or the file stopped growing.",
        [target(f"time() - max by (source) (ike_exporter_last_line_timestamp_seconds{s})",
                legend="{{source}}")],
        unit="s",
    ), 12, 8)
    lay.add(timeseries(
        "Files watched and file errors",
        "Files open per source, and errors opening or reading files per interval by reason "
        "(permission_denied, io).",
        [
            target(f"sum by (source) (ike_exporter_files_watched{s})", ref="A",
                   legend="{{source}} files watched"),
            target(inc("ike_exporter_file_errors_total", "source, reason"), ref="B",
                   legend="{{source}} errors: {{reason}}"),
        ],
    ), 12, 8)
    lay.add(timeseries(
        "File rotations and truncations",
        "Files rotated (renamed, then a new file) and truncated in place (copytruncate) per "
        "interval, by source.",
        [
            target(inc("ike_exporter_file_rotations_total", "source"), ref="A",
                   legend="{{source}} rotations"),
            target(inc("ike_exporter_file_truncations_total", "source"), ref="B",
                   legend="{{source}} truncations"),
        ],
        bars=True,
    ), 12, 8)

    lay.row("Syslog")
    lay.add(timeseries(
        "Syslog messages dropped by reason",
        "Messages or connections dropped per interval, by source and reason: too_large, "
        "denied_source, queue_full (UDP: the pipeline was behind), framing, tls_handshake, "
        "connection_limit.",
        [target(inc("ike_exporter_syslog_dropped_total", "source, reason"),
                legend="{{source}} {{reason}}")],
        bars=True, stack=True,
    ), 12, 8)
    lay.add(timeseries(
        "Syslog connections",
        "Open syslog TCP and TLS connections per source.",
        [target(f"sum by (source) (ike_exporter_syslog_connections{s})", legend="{{source}}")],
    ), 12, 8)

    lay.row("Limits and process")
    lay.add(timeseries(
        "Label overflow",
        "Label values folded into \"other\" per interval by the cardinality guard "
        "(limits.max_peers, max_objects, max_event_ids), by label.",
        [target(inc("ike_exporter_label_overflow_total", "label"), legend="{{label}}")],
        bars=True,
    ), 8, 8)
    lay.add(state_timeline(
        "Configuration reloads",
        "Outcome of the latest configuration reload over time (SIGHUP): red while a failed "
        "reload left the previous configuration running.",
        [target(f"ike_exporter_config_last_reload_successful{s}", legend="{{instance}}")],
        [{"type": "value", "options": {
            "0": {"color": "red", "index": 1, "text": "failed"},
            "1": {"color": "green", "index": 0, "text": "ok"},
        }}],
        UP_DOWN_THRESHOLDS,
    ), 8, 8)
    lay.add(timeseries(
        "Memory and CPU",
        "Resident memory and CPU time per second of the exporter process.",
        [
            target(f"process_resident_memory_bytes{s}", ref="A", legend="{{instance}} memory"),
            target(f"rate(process_cpu_seconds_total{s}[$__rate_interval])", ref="B",
                   legend="{{instance}} CPU"),
        ],
        unit="bytes",
    ), 8, 8)
    # CPU is in cores, not bytes.
    lay.panels[-1]["fieldConfig"]["overrides"].append({
        "matcher": {"id": "byFrameRefID", "options": "B"},
        "properties": [
            {"id": "unit", "value": "percentunit"},
            {"id": "custom.axisPlacement", "value": "right"},
        ],
    })

    return dashboard(
        "ike-exporter",
        "ike_exporter health",
        "The exporter's own health: input per source, ignored vs parsed lines, parse errors, "
        "syslog drops and connections, file rotations, label overflow, reloads.",
        lay.panels,
        scrape_variables(),
        [link("IKE / IPsec VPN overview", "ike-overview", "Why the VPNs fail")],
    )


DASHBOARDS = {
    "dashboards/ike-overview.json": overview,
    "dashboards/ike-exporter.json": exporter,
}


def render(build) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = argv[1:] == ["--check"]
    if argv[1:] not in ([], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    stale = []
    for rel, build in DASHBOARDS.items():
        path = ROOT / rel
        want = render(build)
        have = path.read_text(encoding="utf-8") if path.exists() else None
        if have == want:
            continue
        if check:
            stale.append(rel)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(want, encoding="utf-8")
            print(f"wrote {rel}")
    if stale:
        print(
            "stale: " + ", ".join(stale)
            + " (edit tools/dashboards/generate.py, then run it without --check)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
