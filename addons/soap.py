"""SOAP-aware inspection: a `SOAP` contentview (summary, masked WS-Security secrets, MTOM parts)
and flow labels with fault marks; with a WSDL (learned from clients' ?wsdl fetches, or
soap_wsdl), the operation names and schema validation. The work is done in `mitmrelay.soap`.

Usage:
    mitmdump -s addons/soap.py --flow-detail 3 --mode reverse:http://127.0.0.1:8080@5000
    mitmdump -s addons/soap.py --set soap_wsdl=service.wsdl '~comment invalid'
    mitmdump -s addons/soap.py --set soap_mask_secrets=false ...
    mitmweb -s addons/soap.py --set soap_wsse_password='${WSSE_PASS}'  # fresh WSS on Replay
    mitmweb -s addons/soap.py     # filter faults with: ~comment Fault  (or ~marked)
"""

from mitmrelay.soap.addon import SoapView
from mitmrelay.soap.refresh_addon import SoapRefresh

# SoapView first: its tests load this script and take addons[0]; the refresh changes no label.
addons = [SoapView(), SoapRefresh()]
