"""Answer SOAP requests from recorded flows (`mitmdump -w`), matched by operation and content,
without contacting the server. The work is done in `mitmrelay.soap.replay`.

Usage:
    mitmdump -s addons/soap_replay.py --mode reverse:https://partner.example:443@5000 \
        --set soap_replay=tests/partner.flows
    mitmdump -s addons/relay.py ... --set soap_replay=partner.flows \
        --set soap_replay_unmatched=forward
"""

from mitmrelay.chain.strategy import LazyForReverseHttp
from mitmrelay.soap.replay_addon import SoapReplay

# The strategy addon makes server connections lazy while replaying (unless the user chose one),
# so that eager reverse mode does not connect to a server that is down.
addons = [LazyForReverseHttp(), SoapReplay()]
