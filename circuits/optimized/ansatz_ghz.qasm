// config: configs/ansatz_ghz.yaml sha256:a6c1b69259c5208e
// objective: cfi = 7.189263425 rad^-2
// qlearn-sense optimized protocol; input phi = signal phase per qubit (rad)
// protocol: {"n_qubits": 4, "preparation": "ghz", "measurement": "ghz_parity", "prep_layers": 2, "meas_layers": 1, "noise": {"eta": [0.9048374180359596, 0.9048374180359596, 0.9048374180359596, 0.9048374180359596], "gamma": [0.0, 0.0, 0.0, 0.0], "p01": [0.0, 0.0, 0.0, 0.0], "p10": [0.0, 0.0, 0.0, 0.0]}}
// params: [1.5637712207940293, -3.1415950732764104]
OPENQASM 3.0;
include "stdgates.inc";
input float[64] phi;
bit[4] meas;
qubit[4] q;
h q[0];
cx q[0], q[1];
cx q[1], q[2];
cx q[2], q[3];
rz(phi) q[0];
rz(phi) q[1];
rz(phi) q[2];
rz(phi) q[3];
cx q[2], q[3];
cx q[1], q[2];
cx q[0], q[1];
rz(1.5637712207940293) q[0];
ry(-4.712391400071307) q[0];
barrier q[0], q[1], q[2], q[3];
meas[0] = measure q[0];
meas[1] = measure q[1];
meas[2] = measure q[2];
meas[3] = measure q[3];
