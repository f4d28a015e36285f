"""Steps for the provision verbs of fake-hardware beyond deploying: inspection (1.6)
and adoption (1.17), each on nodes of their own."""

from corpus import get, step


def wait_for(name, state):
    return (name, {"provision_state": state, "target_provision_state": None})


STEPS = [
    step("pv_node_inspect", "POST", "/v1/nodes",
         {"driver": "fake-hardware", "name": "diff-inspect", "network_interface": "noop"},
         save="ni"),
    step("pv_inspect_enroll", "PUT", "/v1/nodes/{ni}/states/provision", {"target": "inspect"}),
    step("pv_inspect_manage", "PUT", "/v1/nodes/{ni}/states/provision", {"target": "manage"},
         wait=wait_for("ni", "manageable")),
    step("pv_inspect", "PUT", "/v1/nodes/{ni}/states/provision", {"target": "inspect"},
         wait=wait_for("ni", "manageable")),
    get("pv_inspect_after", "/v1/nodes/{ni}?fields=provision_state,last_error,inspection_started_at"),
    step("pv_inspect_v15", "PUT", "/v1/nodes/{ni}/states/provision", {"target": "inspect"},
         version="1.5"),
    step("pv_adopt", "PUT", "/v1/nodes/{ni}/states/provision", {"target": "adopt"},
         wait=wait_for("ni", "active")),
    get("pv_adopt_after", "/v1/nodes/{ni}?fields=provision_state,last_error"),
    step("pv_adopt_active", "PUT", "/v1/nodes/{ni}/states/provision", {"target": "adopt"}),
    step("pv_inspect_active", "PUT", "/v1/nodes/{ni}/states/provision", {"target": "inspect"}),
    step("pv_node_no_inspect", "POST", "/v1/nodes",
         {"driver": "fake-hardware", "name": "diff-no-inspect", "network_interface": "noop",
          "inspect_interface": "no-inspect"}, save="nn"),
    step("pv_no_inspect_manage", "PUT", "/v1/nodes/{nn}/states/provision", {"target": "manage"},
         wait=wait_for("nn", "manageable")),
    step("pv_no_inspect", "PUT", "/v1/nodes/{nn}/states/provision", {"target": "inspect"}),
    step("pv_adopt_v116", "PUT", "/v1/nodes/{nn}/states/provision", {"target": "adopt"},
         version="1.16"),
]
