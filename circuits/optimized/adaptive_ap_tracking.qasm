// config: configs/adaptive_ap_tracking.yaml sha256:9e78f7b2ab784e0a
// objective: cfi = 0.3297510208 rad^-2
// qlearn-sense optimized protocol; input phi = signal phase per qubit (rad)
// protocol: {"n_qubits": 1, "preparation": "ramsey", "measurement": "local", "prep_layers": 1, "meas_layers": 1, "noise": {"eta": [0.6065306597126334], "gamma": [0.0], "p01": [0.020000000000000018], "p10": [0.020000000000000018]}}
// params: [1.4152327419291653, -1.4632451080569873]
OPENQASM 3.0;
include "stdgates.inc";
input float[64] phi;
bit[1] meas;
qubit[1] q;
ry(pi/2) q[0];
rz(phi) q[0];
rz(1.4152327419291653) q[0];
ry(-1.4632451080569873) q[0];
barrier q[0];
meas[0] = measure q[0];
