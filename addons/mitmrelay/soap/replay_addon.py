"""The SoapReplay addon: answers SOAP requests from flow files recorded with `mitmdump -w`, by
operation and content (see `replay.py` for the matching rules), without contacting the server.

Usage:
    mitmdump -s addons/soap_replay.py --mode reverse:https://partner.example:443@5000 \
        --set soap_replay=tests/partner.flows
    mitmdump -s addons/relay.py ... --set soap_replay=a.flows --set soap_replay=b.flows \
        --set soap_replay_ignore='{urn:example:quotes}RequestTime' \
        --set soap_replay_unmatched=forward

Answered flows are marked as replays (mitmdump prints `[replay]`, mitmweb its replay icon) and
carry a comment line naming the recording. While `soap_replay` is set, mitmrelay.chain.strategy
makes server connections lazy unless the user chose a strategy: eager reverse mode connects to the
server as soon as a client connects, which fails when the server or its proxy is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from . import options, replay

logger = logging.getLogger(__name__)

OPTIONS = ("soap_replay", "soap_replay_ignore", "soap_replay_unmatched")
COMMENT_PREFIX = "replayed from "
UNMATCHED_COMMENT = "soap_replay: no recorded exchange matched"


def recorded_exchanges(
    path: Path, flows: Sequence[http.HTTPFlow | None], rules: Sequence[replay.IgnoreRule]
) -> list[replay.Recorded]:
    """The exchanges of one file that can answer a request, in the order they were requested."""
    found = []
    for number, flow in enumerate(flows, 1):
        if flow is None or flow.response is None or flow.websocket is not None:
            continue
        # A replay that was itself recorded holds our answer, not the server's.
        if flow.is_replay == "response" or UNMATCHED_COMMENT in flow.comment:
            continue
        source = f"{path.name} #{number}"
        exchange = replay.Recorded(source, replay.request_of(flow.request, rules), flow.response)
        found.append((flow.request.timestamp_start, exchange))
    found.sort(key=lambda pair: pair[0])  # stable: equal times keep the file's order
    return [exchange for _, exchange in found]


class SoapReplay:
    def __init__(self) -> None:
        self.index: replay.Index | None = None
        self.rules: tuple[replay.IgnoreRule, ...] = ()
        self.unmatched = "fault"

    def load(self, loader: Loader) -> None:
        options.declare(loader, *OPTIONS)

    def configure(self, updated: set[str]) -> None:
        if not updated & set(OPTIONS):
            return
        opts = ctx.options
        try:
            files = options.parse("soap_replay", opts.soap_replay)
            flows = options.check_environment("soap_replay", opts.soap_replay, files)
            rules = options.parse("soap_replay_ignore", opts.soap_replay_ignore)
            self.unmatched = options.parse("soap_replay_unmatched", opts.soap_replay_unmatched)
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
        if updated & {"soap_replay", "soap_replay_ignore"}:
            exchanges = []
            for path, recorded in zip(files, flows, strict=True):
                exchanges += recorded_exchanges(path, recorded, rules)
            self.rules = rules
            self.index = replay.Index.of(exchanges) if files else None
            if files:
                logger.info(
                    f"soap_replay: {len(self.index or ())} recorded exchanges from "
                    f"{', '.join(str(p) for p in files)}"
                )

    def request(self, flow: http.HTTPFlow) -> None:
        if self.index is None or flow.response is not None:
            return
        request = replay.request_of(flow.request, self.rules)
        answer = self.index.answer(request)
        if answer is not None:
            self._answer(flow, answer)
            return
        reason = "mitmrelay soap_replay: " + self.index.miss(request)
        if self.unmatched == "forward":
            logger.warning(f"{reason}; forwarded to the server")
            flow.comment = _with_line(flow.comment, f"{UNMATCHED_COMMENT}; forwarded")
            return
        logger.warning(reason)
        version = request.soap.version if request.soap else request.soap_version
        if version is not None:
            flow.response = http.Response.make(
                500,
                replay.fault_body(version, reason),
                {"content-type": replay.FAULT_CONTENT_TYPES[version]},
            )
        else:
            flow.response = http.Response.make(
                404, reason + "\n", {"content-type": "text/plain; charset=utf-8"}
            )
        # Not the live server's answer either: shown as a replay, like the answered ones.
        flow.is_replay = "response"
        flow.comment = _with_line(flow.comment, UNMATCHED_COMMENT)

    def _answer(self, flow: http.HTTPFlow, answer: replay.Answer) -> None:
        recorded = answer.recorded
        response = recorded.response.copy()
        response.timestamp_start = response.timestamp_end = time.time()
        flow.response = response
        flow.is_replay = "response"
        which = f"answer {answer.number} of {answer.total}" + (
            ", repeated" if answer.repeated else ""
        )
        flow.comment = _with_line(flow.comment, f"{COMMENT_PREFIX}{recorded.source} ({which})")
        logger.info(
            f"soap_replay: {recorded.request.describe()} answered from {recorded.source} ({which})"
        )


def _with_line(comment: str, line: str) -> str:
    return f"{comment}\n{line}" if comment else line
